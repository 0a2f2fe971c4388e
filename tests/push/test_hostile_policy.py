"""A hostile team against the job policy (issue 14), through the commands: `render`, `plan` and
`update` refuse, with one message naming the YAML file and line, the job and the rule, and write
nothing (no file, no write request); the child updater's baked command refuses the same; the
org file's grants and exceptions are the only way through. compute is a folder team with
agent label compute-build (examples/example-org/delivery.yaml), portal a prefix team."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from jjb_envdelivery.cli.main import main

HOSTILE_FILE = "teams/compute/ci/jobs/hostile.yaml"

# name -> (job YAML body under `- job:` with name compute/evil, the rule, words of the reason)
HOSTILE = {
    "system groovy builder": ("    builders:\n      - system-groovy:\n"
                              "          command: 'Jenkins.instance.doSafeExit(null)'\n",
                              "controller-code", "SystemGroovy"),
    "system groovy as raw XML": ("    builders:\n      - raw:\n          xml: |\n"
                                 "            <hudson.plugins.groovy.SystemGroovy><source class=\"hudson.plugins.groovy"
                                 ".StringSystemScriptSource\"/></hudson.plugins.groovy.SystemGroovy>\n",
                                 "controller-code", "SystemGroovy"),
    "groovy postbuild": ("    publishers:\n      - groovy-postbuild:\n          script: 'manager.build.result'\n",
                         "controller-code", "GroovyPostbuildRecorder"),
    "unsandboxed pipeline": (None, "controller-code", "sandbox"),
    "anonymous may configure": ("    properties:\n      - authorization:\n"
                                "          anonymous: [job-configure, job-delete]\n",
                                "permissions", "AuthorizationMatrixProperty"),
    "the updater's label": ("    node: jjb-updater\n", "agent-label", "the updater's"),
    "the updater's credential": ("    wrappers:\n      - credentials-binding:\n          - file:\n"
                                 "              credential-id: jjb-updater-config\n              variable: INI\n",
                                 "credential", "the updater's"),
    "another team's credential": ("    scm:\n      - git:\n          url: https://evil.example.com/x.git\n"
                                  "          credentials-id: identity-git-read\n",
                                  "credential", "identity-git-read"),
    "triggering the root updater": ("    publishers:\n      - trigger:\n          project: /delivery/updater-root\n",
                                    "reach", "/delivery/updater-root"),
    "custom environment with a crafted config": (
        "    builders:\n      - trigger-builds:\n          - project: ../delivery/env-custom-current\n"
        "            predefined-parameters: ENV_CONFIG=/etc/passwd\n", "reach", "env-custom-current"),
    "copying another team's artifacts": ("    builders:\n      - copyartifact:\n          project: /identity/x\n",
                                         "reach", "/identity/x"),
    "auth token": ("    auth-token: letmein\n", "auth-token", "token"),
    "custom workspace": ("    workspace: /var/lib/jenkins/secrets\n", "workspace", "custom workspace"),
}
QUICK = {"system groovy as raw XML", "the updater's credential", "triggering the root updater"}


def _cases(quick=QUICK):
    return [pytest.param(c, marks=() if c in quick else pytest.mark.slow) for c in sorted(HOSTILE)]


def _write(org: Path, case: str) -> str:
    body, _, _ = HOSTILE[case]
    if body is None:  # a Pipeline job: JJB's `sandbox` defaults to false (project_pipeline.py:116-117)
        text = "- job:\n    name: compute/evil\n    project-type: pipeline\n    dsl: 'echo \"hi\"'\n"
    else:
        node = "" if "node:" in body else "    node: compute-build\n"
        text = f"- job:\n    name: compute/evil\n    disabled: false\n{node}{body}"
    (org / HOSTILE_FILE).write_text(text)
    return f"{org / HOSTILE_FILE}:1"


def _refused(capsys, argv) -> str:
    capsys.readouterr()
    assert main([str(a) for a in argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("jjb-envdelivery: error: scope compute: the job policy refuses") and "Traceback" not in err
    return err


def _files(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@pytest.mark.parametrize("case", _cases())
def test_render_refuses_and_writes_nothing(case, org_copy, tmp_path, capsys):
    where = _write(org_copy, case)
    before = _files(tmp_path)
    err = _refused(capsys, ["render", org_copy, "-o", tmp_path / "out"])
    _, rule, words = HOSTILE[case]
    line = next(line for line in err.splitlines() if f"[{rule}]" in line)
    assert line.strip().startswith(f"{where}: compute/evil: [{rule}]") and words in line
    assert _files(tmp_path) == before


# plan and update judge through the same render_scope as render (every case above): two cases
# show the refusal comes before any write request.
@pytest.mark.parametrize("command", ["plan", "update"])
@pytest.mark.parametrize("case", [pytest.param("the updater's label"),
                                  pytest.param("system groovy as raw XML", marks=pytest.mark.slow)])
def test_plan_and_update_refuse_without_a_write_request(command, case, emu, conf, org_copy, tmp_path, capsys):
    where = _write(org_copy, case)
    emu.clear_log()
    err = _refused(capsys, [command, "--scope", "compute", "--org-file", org_copy / "delivery.yaml",
                            "--conf", conf, "--cache-dir", tmp_path / "cache"])
    assert where in err and f"[{HOSTILE[case][1]}]" in err
    assert [r for r in emu.request_log if r.write] == []


def test_the_root_updaters_graph_check_refuses_the_same(org_copy, tmp_path, capsys, emu, conf):
    """The root scope renders every team scope for its graph check: the same refusal stops it."""
    _write(org_copy, "system groovy builder")
    emu.clear_log()
    _refused(capsys, ["plan", "--scope", "root", "--org-file", org_copy / "delivery.yaml", "--conf", conf,
                      "--cache-dir", tmp_path / "cache"])
    assert [r for r in emu.request_log if r.write] == []


def _child_command(org: Path, tmp_path: Path, capsys) -> list[str]:
    """The child updater's command for compute, exactly as the root scope baked it (shell words)."""
    import shlex
    import xml.etree.ElementTree as ET
    out = tmp_path / "rendered"
    assert main(["render", str(org), "-o", str(out)]) == 0
    capsys.readouterr()
    shell = ET.parse(out / "delivery/updater-compute/config.xml").getroot().findtext(
        "builders/hudson.tasks.Shell/command")
    words = shlex.split(shell.replace('"$JJB_CONF"', "CONF"))
    assert words[:2] == ["jjb-envdelivery", "update"]
    return words[2:]


def test_the_child_updater_refuses_with_what_the_root_baked(org_copy, tmp_path, capsys, emu, conf, monkeypatch):
    words = _child_command(org_copy, tmp_path, capsys)
    assert "--allow-label" in words and "--updater-credential" in words
    monkeypatch.chdir(org_copy / "teams/compute")  # the child's workspace: a checkout of the team's repo
    argv = ["plan", *[str(conf) if w == "CONF" else w for w in words if w not in ("--workers", "4")],
            "--cache-dir", str(tmp_path / "cache")]
    assert main(argv) == 2, capsys.readouterr().err  # like terraform plan -detailed-exitcode: changes to make
    _write(org_copy, "the updater's credential")
    emu.clear_log()
    err = _refused(capsys, argv)
    assert "ci/jobs/hostile.yaml:1: compute/evil: [credential]" in err
    assert [r for r in emu.request_log if r.write] == []


def test_an_org_file_exception_lets_the_class_through_and_says_so(org_copy, tmp_path, capsys, caplog):
    _write(org_copy, "groovy postbuild")
    org_file = org_copy / "delivery.yaml"
    text = org_file.read_text()
    grant = ("      credentials: [compute-registry-push, compute-apt-upload, compute-deploy-ssh]\n")
    assert grant in text
    exception = ("      classes:\n"
                 "        - class: org.jvnet.hudson.plugins.groovypostbuild.GroovyPostbuildRecorder\n"
                 "          reason: badge on release builds, reviewed 2026-11\n")
    org_file.write_text(text.replace(grant, grant + exception))
    with caplog.at_level(logging.WARNING, logger="jjb_envdelivery.render"):
        assert main(["render", str(org_copy), "-o", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    assert "badge on release builds, reviewed 2026-11" in caplog.text + capsys.readouterr().err
    assert (tmp_path / "out/compute/evil/config.xml").exists()


def test_the_child_updater_checks_the_graph_of_its_own_scope(org_copy, tmp_path, capsys, emu, conf, monkeypatch):
    """Without the org file the child renders its scope alone: names inside its namespace are
    checked (a dangling trigger stops it before any write); names outside it are the policy's."""
    words = _child_command(org_copy, tmp_path, capsys)
    monkeypatch.chdir(org_copy / "teams/compute")
    argv = ["plan", *[str(conf) if w == "CONF" else w for w in words if w not in ("--workers", "4")],
            "--cache-dir", str(tmp_path / "cache")]
    (org_copy / HOSTILE_FILE).write_text(
        "- job:\n    name: compute/smoke\n    node: compute-build\n    triggers:\n"
        "      - reverse: {jobs: /compute/no-such-job}\n")
    emu.clear_log()
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "compute/smoke" in err and "'/compute/no-such-job'" in err and "no job of any scope" in err
    assert [r for r in emu.request_log if r.write] == []
    # The same trigger on one of the scope's own jobs passes the graph check.
    (org_copy / HOSTILE_FILE).write_text(
        "- job:\n    name: compute/smoke\n    node: compute-build\n    triggers:\n"
        "      - reverse: {jobs: /compute/vm-scheduler-current-deliver}\n")
    assert main(argv) == 2, capsys.readouterr().err
