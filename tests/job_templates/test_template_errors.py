"""A wrong choice parameter in a team's YAML is one clear error, never a traceback (issue 13,
defect 10).

JJB 6.5 fails on a missing parameter inside a component *name* while building its own error
(jenkins_jobs/expander.py:66 reads the position of a mapping key, which has none): an
AttributeError and about a hundred lines of traceback for `pakage: deb`. An unknown value
(`package: rpm`) gives "Unknown entry point or macro", without the accepted values.
jjb_envdelivery.jjb.template_choices names the file, the project, the parameter and the
accepted values first.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.data_dirs import shipped_templates_dir
from jjb_envdelivery.errors import EnvDeliveryError
from jjb_envdelivery.render import render_paths

FIXTURES = Path(__file__).with_name("fixtures")


@pytest.fixture
def org_dir(example_org_dir, tmp_path):
    dest = tmp_path / "org"
    shutil.copytree(example_org_dir, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def portal_file(org_dir: Path) -> Path:
    org = yaml.safe_load((org_dir / "delivery.yaml").read_text())
    project = next(p for p in org["projects"] if p["name"] == "portal")
    jobs_dir = org_dir / project["repo"]["local-checkout"] / project["jobs-path"]
    (team_file,) = [p for p in sorted(jobs_dir.glob("*.yaml")) if "jobs: [envdelivery-service]" in p.read_text()]
    return team_file


def set_line(path: Path, key: str, new_line: str) -> int:
    """Replace the project's `key:` line by `new_line`; returns its line number."""
    lines = path.read_text().splitlines(keepends=True)
    (index,) = [i for i, line in enumerate(lines) if re.match(rf"\s+{re.escape(key)}:", line)]
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines[index] = f"{indent}{new_line}\n"
    path.write_text("".join(lines))
    return index + 1


def project_line(path: Path) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.lstrip().startswith("- project:"))


def render_fails(capsys, org_dir: Path, tmp_path: Path) -> str:
    capsys.readouterr()
    assert main(["render", str(org_dir), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("jjb-envdelivery: error: scope portal: ")
    assert "Traceback" not in err
    assert err.count("\n") == 1, err  # one paragraph
    return err


def test_misspelt_required_parameter(org_dir, tmp_path, capsys):
    team_file = portal_file(org_dir)
    set_line(team_file, "package", "pakage: docker")
    err = render_fails(capsys, org_dir, tmp_path)
    assert f"{team_file}:{project_line(team_file)}: project 'portal-services': " in err
    assert ("job-template 'envdelivery-package' via job-group 'envdelivery-service' needs the parameter 'package', "
            "which picks the builder macro 'envdelivery-package-{package}'; set package: to one of deb, docker, "
            "python. The project sets 'pakage': a misspelling of 'package'?") in err


def test_unknown_package_format(org_dir, tmp_path, capsys):
    team_file = portal_file(org_dir)
    line = set_line(team_file, "package", "package: rpm")
    err = render_fails(capsys, org_dir, tmp_path)
    assert (f"{team_file}:{line}: project 'portal-services': job-template 'envdelivery-package' via job-group "
            "'envdelivery-service': package is 'rpm', but it picks the builder macro "
            "'envdelivery-package-{package}', so it must be one of deb, docker, python.") in err


@pytest.mark.slow  # the same check as test_a_deliver_kind_is_checked, through the CLI (2 s)
def test_unknown_deliver_kind(org_dir, tmp_path, capsys):
    team_file = portal_file(org_dir)
    line = set_line(team_file, "deliver-host", "deliver-host: scp")
    err = render_fails(capsys, org_dir, tmp_path)
    assert (f"{team_file}:{line}: project 'portal-services': job-template 'envdelivery-deliver' via job-group "
            "'envdelivery-service': deliver-host is 'scp', but it picks the builder and wrapper macros "
            "'envdelivery-deliver-host-{deliver-host}', so it must be one of none, ssh.") in err


@pytest.mark.slow  # the same check as test_a_test_report_is_checked, through the CLI (2 s)
def test_unknown_test_report(org_dir, tmp_path, capsys):
    team_file = portal_file(org_dir)
    line = set_line(team_file, "test-report", "test-report: xunit")
    err = render_fails(capsys, org_dir, tmp_path)
    assert (f"{team_file}:{line}: project 'portal-services': job-template 'envdelivery-ci' via job-group "
            "'envdelivery-service': test-report is 'xunit', but it picks the publisher macro "
            "'envdelivery-tests-{test-report}', so it must be one of junit, none.") in err


@pytest.mark.slow  # a process that renders the whole organisation (2 s)
def test_no_traceback_from_the_command(org_dir, tmp_path):
    """The installed command, as a user runs it (JJB 6.5 alone prints a traceback here)."""
    set_line(portal_file(org_dir), "package", "pakage: docker")
    done = subprocess.run([Path(sys.executable).with_name("jjb-envdelivery"), "render", org_dir, "-o", tmp_path / "o"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "needs the parameter 'package'" in done.stderr
    assert len(done.stderr.splitlines()) == 1


# --- the check follows JJB's parameter merge, so it refuses nothing JJB would render ----------


def team_yaml(tmp_path: Path, *entries: dict, context: str = "package") -> Path:
    base = [e for e in yaml.safe_load((FIXTURES / f"{context}.yaml").read_text()) if "defaults" in e]
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump([*base, *entries], sort_keys=False))
    return path


def names(path: Path) -> list[str]:
    return [job.name for job in render_paths([shipped_templates_dir(), path]).jobs]


def test_group_parameters_override_the_project(tmp_path):
    # JJB merges a job-group's own parameters over those of the project that calls it.
    path = team_yaml(tmp_path,
                     {"job-group": {"name": "debs", "package": "deb", "jobs": ["envdelivery-package"]}},
                     {"project": {"name": "p", "service": "s", "package": "rpm", "jobs": ["debs"]}})
    assert len(names(path)) == 3


def test_spec_parameters_override_the_project(tmp_path):
    path = team_yaml(tmp_path, {"project": {"name": "p", "service": "s", "package": "rpm",
                                            "jobs": [{"envdelivery-package": {"package": "docker"}}]}})
    assert len(names(path)) == 3


def test_a_spec_parameter_is_checked(tmp_path):
    path = team_yaml(tmp_path, {"project": {"name": "p", "service": "s", "package": "deb",
                                            "jobs": [{"envdelivery-package": {"package": "snap"}}]}})
    with pytest.raises(EnvDeliveryError, match=r"team.yaml:\d+: project 'p': job-template 'envdelivery-package': "
                                               r"package is 'snap'.*one of deb, docker, python"):
        render_paths([shipped_templates_dir(), path])


def test_a_deliver_kind_is_checked(tmp_path):
    path = team_yaml(tmp_path, {"project": {"name": "p", "service": "s", "deliver-repository": "scp",
                                            "jobs": ["envdelivery-deliver"]}})
    with pytest.raises(EnvDeliveryError) as caught:
        render_paths([shipped_templates_dir(), path])
    assert ("project 'p': job-template 'envdelivery-deliver': deliver-repository is 'scp', but it picks the "
            "builder and wrapper macros 'envdelivery-deliver-repository-{deliver-repository}', so it must be one "
            "of curl, none, twine.") in str(caught.value)


def test_a_test_report_is_checked(tmp_path):
    path = team_yaml(tmp_path, {"project": {"name": "p", "service": "s", "git-url": "https://git.example.com/s.git",
                                            "build": "make", "validate": "make check", "artifacts": "out/*",
                                            "test-report": "JUnit", "jobs": ["envdelivery-ci"]}})
    with pytest.raises(EnvDeliveryError, match=r"test-report is 'JUnit', .* must be one of junit, none\."):
        render_paths([shipped_templates_dir(), path])


def test_a_list_is_not_a_package_format(tmp_path):
    # `package` is not in the job name, so JJB does not make it an axis: the list itself would be
    # formatted into the macro name.
    path = team_yaml(tmp_path, {"project": {"name": "p", "service": "s", "package": ["deb", "docker"],
                                            "jobs": ["envdelivery-package"]}})
    with pytest.raises(EnvDeliveryError, match=r"package is \['deb', 'docker'\]"):
        render_paths([shipped_templates_dir(), path])


def test_a_template_string_is_left_to_jjb(tmp_path):
    path = team_yaml(tmp_path, {"project": {"name": "p", "service": "s", "kind": "deb", "package": "{kind}",
                                            "jobs": ["envdelivery-package"]}})
    assert len(names(path)) == 3


@pytest.mark.parametrize("value", ["soon", 0, True, "1.5", [60]])
def test_build_timeout_must_be_whole_minutes(tmp_path, value):
    # AbsoluteTimeOutStrategy parses timeoutMinutes with Integer.parseInt when a build starts
    # (build-timeout-plugin@79b2549c3c9a impl/AbsoluteTimeOutStrategy.java:42-46): a bad value
    # would fail every build, not the update.
    path = team_yaml(tmp_path, {"project": {"name": "p", "service": "s", "package": "deb", "build-timeout": value,
                                            "jobs": ["envdelivery-package"]}})
    with pytest.raises(EnvDeliveryError, match=rf"project 'p': job-template 'envdelivery-package': build-timeout is "
                                               rf"{re.escape(repr(value))}, but it is the build timeout in minutes"):
        render_paths([shipped_templates_dir(), path])


@pytest.mark.parametrize("value", [90, "90"])
def test_build_timeout_in_minutes(tmp_path, value):
    path = team_yaml(tmp_path, {"project": {"name": "p", "service": "s", "package": "deb", "build-timeout": value,
                                            "jobs": ["envdelivery-package"]}})
    jobs = render_paths([shipped_templates_dir(), path]).jobs
    assert all(b"<timeoutMinutes>90</timeoutMinutes>" in job.output() for job in jobs)
