"""Wrong types and values in the options of our builders: JJB's own errors, never a traceback.

Each bad input goes through both pipelines that run these builders: JJB's own (Roots,
ModuleRegistry, XmlJobGenerator, as `jenkins-jobs test` runs them) and ours (`render_paths`,
what `jjb-envdelivery render` runs). The builder must raise JJB's InvalidAttributeError,
MissingAttributeError or JenkinsJobsException, whose message names the component, the field
and what was expected; JJB adds the file and line of the job and of the builder.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jenkins_jobs.errors import InvalidAttributeError, JenkinsJobsException, MissingAttributeError

from jjb_envdelivery.errors import EnvDeliveryError
from jjb_envdelivery.jjb import builders
from jjb_envdelivery.render import render_paths

from .conftest import jjb_pipeline, origin

ENV = "envdelivery-env"
UPDATE = "envdelivery-update"
DRIFT = "envdelivery-drift-check"

GOOD_BUILD = {"command": "build", "variant": "minimal", "release": "current"}
GOOD_GC = {"command": "gc", "variant": "minimal", "release": "current", "keep": 3}
GOOD_PROVISION = {"command": "provision", "release": "current", "config": "env.yaml"}
GOOD_PROJECT = {"scope": "payments", "namespace": "folder:payments", "releases": {"current": "main"},
                "jobs-path": "jenkins", "root-folder": "delivery"}
GOOD_ROOT = {"scope": "root"}

NOT_STRINGS = [5, 2.5, True, ["a"], {"a": "b"}, None, ""]


def _without(data: dict, key: str) -> dict:
    return {k: v for k, v in data.items() if k != key}


def _invalid(component, base, field, value, expected):
    """An invalid `field`: JJB's InvalidAttributeError naming builder.COMPONENT.FIELD."""
    return pytest.param(component, {**base, field: value}, InvalidAttributeError,
                        f"{value!r} is an invalid value for attribute builder.{component}.{field}: "
                        f"expected {expected}", id=f"{component}-{field}={value!r}")


def _missing(component, base, field):
    return pytest.param(component, _without(base, field), MissingAttributeError,
                        f"Missing {field} from an instance of 'builder.{component}'",
                        id=f"{component}-missing-{field}")


def _other(component, data, message, case_id):
    return pytest.param(component, data, JenkinsJobsException, message, id=f"{component}-{case_id}")


CASES = [
    # envdelivery-env
    _other(ENV, ["build"], "builder.envdelivery-env: expected a mapping of options", "list"),
    _other(ENV, None, "builder.envdelivery-env: expected a mapping of options", "empty"),
    _other(ENV, "build", "builder.envdelivery-env: expected a mapping of options", "string"),
    _missing(ENV, GOOD_BUILD, "command"),
    *(_invalid(ENV, GOOD_BUILD, "command", value, "one of build, gc, provision, verify")
      for value in (5, ["build"], {"build": 1}, None, "destroy")),
    _other(ENV, {**GOOD_BUILD, "dry-run": True},
           "builder.envdelivery-env build: unknown option(s) dry-run; known are: command, org-file, release, variant",
           "unknown-option"),
    _other(ENV, {**GOOD_BUILD, 5: "x"}, "builder.envdelivery-env build: unknown option(s) 5", "unknown-int-key"),
    _other(ENV, {**GOOD_BUILD, "keep": 3}, "builder.envdelivery-env build: unknown option(s) keep",
           "keep-outside-gc"),
    *(_invalid(ENV, GOOD_BUILD, "org-file", value, "a non-empty string") for value in NOT_STRINGS),
    _missing(ENV, GOOD_BUILD, "variant"),
    *(_invalid(ENV, GOOD_BUILD, "variant", value, "a non-empty string") for value in NOT_STRINGS),
    _missing(ENV, GOOD_BUILD, "release"),
    *(_invalid(ENV, GOOD_BUILD, "release", value, "a non-empty string") for value in NOT_STRINGS),
    _missing(ENV, GOOD_PROVISION, "release"),
    _missing(ENV, GOOD_PROVISION, "config"),
    *(_invalid(ENV, GOOD_PROVISION, "config", value, "a non-empty string") for value in NOT_STRINGS),
    _missing(ENV, GOOD_GC, "keep"),
    *(_invalid(ENV, GOOD_GC, "keep", value, "how many verified templates to keep, at least 1")
      for value in (0, -1, True, 2.5, "three", "", None, [3])),
    # envdelivery-update
    _other(UPDATE, ["root"], "builder.envdelivery-update: expected a mapping of options", "list"),
    _other(UPDATE, "root", "builder.envdelivery-update: expected a mapping of options", "string"),
    _missing(UPDATE, GOOD_ROOT, "scope"),
    *(_invalid(UPDATE, GOOD_PROJECT, "scope", value,
               "'root' or a project name (letters, digits, '.', '_' and '-')")
      for value in (*NOT_STRINGS, "../etc", "pay ments")),
    *(_invalid(UPDATE, GOOD_ROOT, "conf-variable", value,
               "an environment variable name (letters, digits and '_', not starting with a digit)")
      for value in (5, None, ["JJB_CONF"], "", "1ABC", 'X"; cat /etc/passwd; "', "JJB_CONF\n")),
    *(_invalid(UPDATE, GOOD_ROOT, "workers", value, "the number of parallel uploads, at least 1")
      for value in (0, -2, True, 1.5, "four", "", None, [4])),
    *(_invalid(UPDATE, GOOD_ROOT, "org-file", value, "a non-empty string") for value in NOT_STRINGS),
    _other(UPDATE, {**GOOD_ROOT, "namespace": "folder:x"},
           "builder.envdelivery-update scope root: unknown option(s) namespace; known are: conf-variable, "
           "org-file, scope, workers", "root-with-namespace"),
    _other(UPDATE, {**GOOD_PROJECT, "org-file": "delivery.yaml"},
           "builder.envdelivery-update scope payments: unknown option(s) org-file", "project-with-org-file"),
    _other(UPDATE, {**GOOD_PROJECT, 7: "x"}, "builder.envdelivery-update scope payments: unknown option(s) 7",
           "unknown-int-key"),
    _missing(UPDATE, GOOD_PROJECT, "namespace"),
    *(_invalid(UPDATE, GOOD_PROJECT, "namespace", value, "folder:NAME or prefix:NAME- (a string)")
      for value in NOT_STRINGS),
    *(_invalid(UPDATE, GOOD_PROJECT, "namespace", value,
               "folder:NAME or prefix:NAME- (NAME of letters, digits, '.', '_' and '-'; a prefix ends with "
               "'-', '_' or '.')")
      for value in ("payments", "folder:", "prefix:pay", "folder:a/b", "team:payments", "folder: payments")),
    _missing(UPDATE, GOOD_PROJECT, "releases"),
    *(_invalid(UPDATE, GOOD_PROJECT, "releases", value,
               "a non-empty mapping of release line name to branch, e.g. {current: release/2026.11, "
               "upcoming: main}")
      for value in (["current=main"], "current=main", {}, 5, None)),
    *(_invalid(UPDATE, GOOD_PROJECT, "releases", value,
               "a non-empty mapping of release line name to branch, e.g. {current: release/2026.11, "
               f"upcoming: main}}; release line names of letters, digits, '.', '_' and '-', not {name!r}")
      for value, name in (({5: "main"}, 5), ({"a=b": "main"}, "a=b"), ({"cur rent": "main"}, "cur rent"))),
    *(pytest.param(UPDATE, {**GOOD_PROJECT, "releases": {"current": branch}}, InvalidAttributeError,
                   f"{branch!r} is an invalid value for attribute builder.envdelivery-update.releases.current: "
                   "expected a branch name (a non-empty string; quote a branch like 2026.11)",
                   id=f"update-releases-branch={branch!r}")
      for branch in (2026.11, 5, None, "", ["main"])),
    _missing(UPDATE, GOOD_PROJECT, "jobs-path"),
    *(_invalid(UPDATE, GOOD_PROJECT, "jobs-path", value,
               "a path inside the project's repository (a string, relative, without '..')")
      for value in (*NOT_STRINGS, "/etc", "../other-repo", "jenkins/../../x")),
    _missing(UPDATE, GOOD_PROJECT, "root-folder"),
    *(_invalid(UPDATE, GOOD_PROJECT, "root-folder", value, "a folder name (letters, digits, '.', '_' and '-')")
      for value in (*NOT_STRINGS, "a/b")),
    *(_invalid(UPDATE, GOOD_PROJECT, "workers", value, "the number of parallel uploads, at least 1")
      for value in (0, "x")),
    # The build-timeout plugin raises anything below 3 minutes to 3 (AbsoluteTimeOutStrategy.java:36-44).
    *(_invalid(UPDATE, GOOD_PROJECT, "build-timeout", value, "whole minutes, at least 3")
      for value in (2, "2", 0, -5, True, 2.5, "an hour", "", None, [60])),
    _other(UPDATE, {**GOOD_ROOT, "build-timeout": 60},
           "builder.envdelivery-update scope root: unknown option(s) build-timeout", "root-with-build-timeout"),
    # The job policy the root scope grants a project (README, "The job policy").
    *(_invalid(UPDATE, GOOD_PROJECT, "policy", value, "a mapping (agent-labels, credentials, upstreams, classes, "
               "unknown-classes, updater-label, updater-credential)") for value in ("x", ["a"], 5)),
    *(pytest.param(UPDATE, {**GOOD_PROJECT, "policy": {key: value}}, InvalidAttributeError,
                   f"{value!r} is an invalid value for attribute builder.envdelivery-update.policy.{key}: "
                   f"expected a list of {what}", id=f"update-policy-{key}={value!r}")
      for key, what, bad in (
          ("agent-labels", "agent labels", ("a || b", "built in")),
          ("credentials", "credential IDs", ("$SECRET", "")),
          ("upstreams", "full job names", ("/abs", "$JOB")),
          ("classes", "Java class names", ("SystemGroovy", "a..b")))
      for value in ("one-string", [5], [bad[0]], [bad[1]])),
    pytest.param(UPDATE, {**GOOD_PROJECT, "policy": {"unknown-classes": "maybe"}}, InvalidAttributeError,
                 "'maybe' is an invalid value for attribute builder.envdelivery-update.policy.unknown-classes: "
                 "expected refuse or allow", id="update-policy-unknown-classes=maybe"),
    _other(UPDATE, {**GOOD_PROJECT, "policy": {"sandbox": False}},
           "builder.envdelivery-update policy: unknown option(s) sandbox", "policy-unknown-key"),
    *(pytest.param(UPDATE, {**GOOD_PROJECT, "limits": value}, InvalidAttributeError,
                   "is an invalid value for attribute builder.envdelivery-update.limits", id=f"update-limits={value!r}")
      for value in ("x", {"jobs": 0}, {"jobs": -1}, {"jobs": 2.5}, {"jobs": True}, {"nonsense": 5})),
    *(pytest.param(UPDATE, {**GOOD_PROJECT, "adopt-from": value}, InvalidAttributeError,
                   "is an invalid value for attribute builder.envdelivery-update.adopt-from",
                   id=f"update-adopt-from={value!r}")
      for value in ("bad name", "x; rm -rf /", "", ["old"])),
    _other(UPDATE, {**GOOD_ROOT, "policy": {}},
           "builder.envdelivery-update scope root: unknown option(s) policy", "root-with-policy"),
    # envdelivery-drift-check
    _other(DRIFT, ["delivery.yaml"], "builder.envdelivery-drift-check: expected a mapping of options", "list"),
    *(_invalid(DRIFT, {}, "org-file", value, "a non-empty string") for value in NOT_STRINGS),
    *(_invalid(DRIFT, {}, "conf-variable", value,
               "an environment variable name (letters, digits and '_', not starting with a digit)")
      for value in (5, None, "", "1ABC", 'X"; cat /etc/passwd; "')),
    _other(DRIFT, {"scope": "root"},
           "builder.envdelivery-drift-check: unknown option(s) scope; known are: conf-variable, org-file", "unknown"),
]


def _write_job(path: Path, component: str, data) -> Path:
    path.write_text(yaml.safe_dump([{"job": {"name": "bad", "builders": [{component: data}]}}], sort_keys=False))
    return path


def _builder_line(path: Path, component: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if component in line)


@pytest.mark.parametrize("component, data, error_type, message", CASES)
def test_bad_option_through_jjb(tmp_path, component, data, error_type, message):
    path = _write_job(tmp_path / "jobs.yaml", component, data)
    with pytest.raises(JenkinsJobsException) as caught:
        jjb_pipeline(path)
    raised = origin(caught.value)
    assert isinstance(raised, error_type), repr(raised)
    assert message in str(raised)
    context = "\n".join(caught.value.lines)
    assert f"{path}:{_builder_line(path, component)}:" in context
    assert f"In builder {component!r}" in context


@pytest.mark.parametrize("component, data, error_type, message", CASES)
def test_bad_option_through_render(tmp_path, component, data, error_type, message):
    path = _write_job(tmp_path / "jobs.yaml", component, data)
    with pytest.raises(EnvDeliveryError) as caught:
        render_paths([path])
    assert isinstance(origin(caught.value), error_type), repr(origin(caught.value))
    text = str(caught.value)
    assert message in text
    assert f"{path}:{_builder_line(path, component)}:" in text


def test_the_cases_cover_every_option():
    """Every documented option of each builder has bad-input cases."""
    covered = {(values[0], key) for values in (case.values for case in CASES) if isinstance(values[1], dict)
               for key in re.findall(r"builder\.[\w-]+\.([\w-]+)", values[3])}
    covered |= {(values[0], "mapping") for values in (case.values for case in CASES)
                if "expected a mapping of options" in values[3]}
    for component, function in ((ENV, builders.envdelivery_env), (UPDATE, builders.envdelivery_update),
                                (DRIFT, builders.envdelivery_drift_check)):
        options = re.findall(r":arg \w+ ([\w-]+):", function.__doc__)
        assert options
        for option in [*options, "mapping"]:
            assert (component, option) in covered or any(
                f"Missing {option} from" in case.values[3] for case in CASES if case.values[0] == component
            ), (component, option)


@pytest.mark.parametrize("component, data, expected", [
    (UPDATE, {**GOOD_PROJECT, "namespace": "prefix:pay-", "workers": "2"},
     "jjb-envdelivery update --scope payments --namespace prefix:pay- --release current=main "
     "--root-folder delivery --build-timeout 60 --workers 2 --conf \"$JJB_CONF\" jenkins"),
    (UPDATE, {**GOOD_PROJECT, "build-timeout": "90"}, "--root-folder delivery --build-timeout 90 --workers 4"),
    (UPDATE, {**GOOD_PROJECT, "releases": {"current": "release/2026.11", "upcoming": "main"}},
     "--release current=release/2026.11 --release upcoming=main"),
    (UPDATE, {**GOOD_PROJECT, "policy": {"agent-labels": ["pay-build"], "credentials": ["pay-git"],
                                         "upstreams": ["web-ui-current-deliver"],
                                         "classes": ["hudson.plugins.groovy.SystemGroovy"],
                                         "unknown-classes": "allow", "updater-label": "jjb",
                                         "updater-credential": "jjb-ini"}, "limits": {"jobs": 50}},
     "--build-timeout 60 --allow-label pay-build --allow-credential pay-git --allow-upstream web-ui-current-deliver "
     "--allow-class hudson.plugins.groovy.SystemGroovy --updater-label jjb --updater-credential jjb-ini "
     "--unknown-classes allow --limit jobs=50 --workers 4"),
    (UPDATE, {**GOOD_PROJECT, "adopt-from": "payments-old"}, "--adopt-from payments-old --workers 4"),
    (DRIFT, {}, 'jjb-envdelivery drift-check --org-file delivery.yaml --conf "$JJB_CONF"'),
    (DRIFT, {"org-file": "org/my delivery.yaml", "conf-variable": "INI"},
     "jjb-envdelivery drift-check --org-file 'org/my delivery.yaml' --conf \"$INI\""),
    (ENV, {**GOOD_GC, "keep": "2"}, "--keep 2"),
    (ENV, {**GOOD_BUILD, "variant": "odd name; rm -rf /"}, "--variant 'odd name; rm -rf /'"),
])
def test_good_values_still_render(tmp_path, component, data, expected):
    path = _write_job(tmp_path / "jobs.yaml", component, data)
    output = render_paths([path]).jobs[0].output().decode("utf-8").replace("&quot;", '"')
    assert expected in output


def test_render_command_reports_a_bad_namespace_without_a_traceback(tmp_path):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "updater.yaml").write_text(
        "- job:\n"
        "    name: updater-payments\n"
        "    builders:\n"
        "      - envdelivery-update:\n"
        "          scope: payments\n"
        "          namespace: 5\n"
        "          releases: {current: main}\n"
        "          jobs-path: jenkins\n"
        "          root-folder: delivery\n"
    )
    script = Path(sys.executable).with_name("jjb-envdelivery")
    result = subprocess.run([script, "render", jobs, "-o", tmp_path / "out"], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("jjb-envdelivery: error: ")
    assert f"{jobs / 'updater.yaml'}:4:" in result.stderr  # the builder's file and line
    assert ("5 is an invalid value for attribute builder.envdelivery-update.namespace: "
            "expected folder:NAME or prefix:NAME- (a string)") in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_plain_jenkins_jobs_reports_a_bad_namespace_without_a_traceback(tmp_path):
    path = _write_job(tmp_path / "jobs.yaml", UPDATE, {**GOOD_PROJECT, "namespace": 5})
    result = subprocess.run(
        [Path(sys.executable).with_name("jenkins-jobs"), "test", "--config-xml", "-o", tmp_path / "out", path],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "builder.envdelivery-update.namespace" in result.stderr
    assert "Traceback" not in result.stderr
