"""Release lines and namespace come only from the root (issue 14): a team file that redefines
`defaults: envdelivery`, or sets a parameter the generated context bakes, is refused by
`jjb-envdelivery render` with its file and line; `build-timeout` stays a project's to set.

Why a parameter anywhere matters: JJB merges parameters defaults < job-template < job-group
< project < job entry (jenkins_jobs/root_base.py, `generate_items` and `_generate_items`), and
lets a later `defaults` of the same name replace an earlier one (jenkins_jobs/defaults.py,
`Defaults.add` assigns without a duplicate check)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jjb_envdelivery.cli.main import main

BAKED = "a team scope may not set any of: branch, envdelivery-copiers, envdelivery-project, job-prefix, " \
        "jobs-disabled, release"

# A service of the compute team (folder:compute) as its own project, with `extra` added to it.
PROJECT = """- project:
    name: evil
    service: evil-svc
    git-url: https://git.example.com/compute/evil.git
    build: make
    validate: make test
    artifacts: 'bin/*'
    package: docker
    registry: registry.example.com/compute
{extra}    node: compute-build
    jobs: [envdelivery-service]
"""

HOSTILE = {
    # The finding: current repointed to the team's own branch, another line added, others dropped.
    "redefined envdelivery defaults": (
        "- defaults:\n    name: envdelivery\n    job-prefix: 'compute/'\n    envdelivery-project: compute\n"
        "    jobs-disabled: false\n    envdelivery-copiers: '/delivery/*'\n    build-timeout: 60\n"
        "    release:\n      - current:\n          branch: team-owned\n      - mine:\n          branch: x\n",
        "evil.yaml:1:3: defaults 'envdelivery' is baked by the root scope (release lines, namespace); "
        "a team scope may not define it"),
    "project repointing a release line": (
        PROJECT.format(extra="    release:\n      - current:\n          branch: team-owned\n"),
        f"evil.yaml:10:5: project 'evil' sets 'release', which the root scope bakes (release lines, "
        f"namespace); {BAKED}"),
    "job entry setting branch": (
        PROJECT.format(extra="").replace("    jobs: [envdelivery-service]\n",
                                         "    jobs:\n      - envdelivery-service:\n          branch: team-owned\n"),
        "evil.yaml:13:11: project 'evil', its entry 'envdelivery-service' sets 'branch'"),
    "project moving its namespace": (
        PROJECT.format(extra="    job-prefix: 'identity/'\n"),
        "evil.yaml:10:5: project 'evil' sets 'job-prefix'"),
    "global defaults widening the copiers": (
        "- defaults:\n    name: global\n    envdelivery-copiers: '/*'\n",
        "evil.yaml:3:5: defaults 'global' sets 'envdelivery-copiers'"),
    "template enabling disabled jobs": (
        "- job-template:\n    name: 'compute/{service}-{release}-x'\n    jobs-disabled: false\n",
        "evil.yaml:3:5: job-template 'compute/{service}-{release}-x' sets 'jobs-disabled'"),
    "group renaming the project": (
        "- job-group:\n    name: evil-group\n    envdelivery-project: identity\n    jobs: [envdelivery-ci]\n",
        "evil.yaml:3:5: job-group 'evil-group' sets 'envdelivery-project'"),
}


@pytest.fixture
def org(example_org_dir, tmp_path) -> Path:
    return Path(shutil.copytree(example_org_dir, tmp_path / "org"))


def render(org: Path, out: Path, capsys) -> tuple[int, str]:
    code = main(["render", str(org), "-o", str(out)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_team_cannot_change_the_baked_context(case, org, tmp_path, capsys):
    text, expected = HOSTILE[case]
    evil = org / "teams/compute/ci/jobs/evil.yaml"
    evil.write_text(text)
    code, output = render(org, tmp_path / "out", capsys)
    assert code == 1
    assert f"jjb-envdelivery: error: scope compute: {evil.parent}/{expected}" in output
    assert len(output.strip().splitlines()) == 1 and "Traceback" not in output
    assert not (tmp_path / "out").exists()


def test_a_prefix_team_cannot_redefine_the_context_either(org, tmp_path, capsys):
    evil = org / "teams/portal/jenkins/evil.yaml"
    evil.write_text("- defaults:\n    name: envdelivery\n    job-prefix: ''\n")
    code, output = render(org, tmp_path / "out", capsys)
    assert code == 1
    assert f"scope portal: {evil}:1:3: defaults 'envdelivery' is baked by the root scope" in output
    assert not (tmp_path / "out").exists()


def test_build_timeout_stays_a_projects_to_set(org, tmp_path, capsys):
    # job-templates/envdelivery-common.yaml documents it as the one context key a project overrides.
    (org / "teams/compute/ci/jobs/evil.yaml").write_text(PROJECT.format(extra="    build-timeout: 95\n"))
    code, output = render(org, tmp_path / "out", capsys)
    assert code == 0, output
    config = (tmp_path / "out/compute/evil-svc-current-ci/config.xml").read_text()
    # The absolute strategy's minutes (build-timeout impl/AbsoluteTimeOutStrategy.java:22, 36-46; the
    # whole wrapper is checked in tests/job_templates/test_plugin_semantics.py).
    assert "<timeoutMinutes>95</timeoutMinutes>" in config


def test_using_the_baked_defaults_is_fine(org, tmp_path, capsys):
    # A team's own template may still *read* the context: `defaults: envdelivery` on a template.
    (org / "teams/compute/ci/jobs/own.yaml").write_text(
        "- job-template:\n    name: '{job-prefix}{service}-{release}-lint'\n    defaults: envdelivery\n"
        "    description: 'lint {branch}'\n    disabled: '{jobs-disabled}'\n"
        "    node: '{node}'\n"
        "- project:\n    name: lint\n    service: vm-scheduler\n    node: compute-build\n"
        "    jobs: ['{job-prefix}{service}-{release}-lint']\n")
    code, output = render(org, tmp_path / "out", capsys)
    assert code == 0, output
    config = (tmp_path / "out/compute/vm-scheduler-current-lint/config.xml").read_text()
    assert "lint release/2026.11" in config
