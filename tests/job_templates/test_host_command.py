"""deliver-host: ssh runs the team's host-command with its arguments (issue 13, defect 8).

The generated shell step is run as Jenkins runs a ``hudson.tasks.Shell`` (the script under
``sh -xe``), with a TEST INSTRUMENT first on PATH: stub ``ssh`` and ``scp`` executables that,
instead of reaching a host, run the remote command with ``sh -c`` in a local directory standing
for the remote home (as sshd hands the joined command words to the user's shell), a stub
``sudo`` that resets the environment as sudo's env_reset does, and a stub ``portal-run`` that
records its arguments, its environment's ENVDELIVERY_VERSION and its working directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.data_dirs import shipped_templates_dir
from jjb_envdelivery.jjb.pipeline import generate_xml, make_jjb_config

FIXTURES = Path(__file__).with_name("fixtures")
VERSION = "57-g1a2b3c4"

# --- the test instrument: stand-ins for ssh, scp, sudo and the team's program ----------------
STUBS = {
    "ssh": r"""#!/bin/sh
# TEST INSTRUMENT (not ssh): runs the remote command locally, in $REMOTE_HOME, under sh -c.
while [ $# -gt 0 ]; do
  case "$1" in
    -i|-o) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
shift  # user@host
cd "$REMOTE_HOME"
# sshd gives the remote command its standard input as a pipe, not as a file it could seek.
cat | sh -c "$*"
""",
    "scp": r"""#!/bin/sh
# TEST INSTRUMENT (not scp): copies into $REMOTE_HOME/<path after host:>.
sources=
while [ $# -gt 1 ]; do
  case "$1" in
    -i|-o) shift 2 ;;
    *) sources="$sources $1"; shift ;;
  esac
done
dest="$REMOTE_HOME/${1#*:}"
for f in $sources; do cp "$f" "$dest"; done
""",
    "sudo": r"""#!/bin/sh
# TEST INSTRUMENT (not sudo): env_reset, then run the command.
exec env -i PATH="$PATH" REMOTE_HOME="$REMOTE_HOME" "$@"
""",
    "portal-run": r"""#!/bin/sh
# TEST INSTRUMENT: the team's program; records what it received.
python3 -c 'import json, os, sys
print(json.dumps({"args": sys.argv[1:], "env": os.environ.get("ENVDELIVERY_VERSION"), "cwd": os.getcwd()}))
' "$@" >> "$REMOTE_HOME/received"
""",
}


def deliver_job(tmp_path: Path, host_command: str) -> ET.Element:
    entries = yaml.safe_load((FIXTURES / "deliver.yaml").read_text())
    project = next(e["project"] for e in entries if "project" in e)
    project.update({"service": "web-ui", "host-command": host_command, "deliver-registry": "none"})
    source = tmp_path / "team.yaml"
    source.write_text(yaml.safe_dump(entries, sort_keys=False))
    scope = generate_xml(make_jjb_config(), [shipped_templates_dir(), source])
    return ET.fromstring(next(job for job in scope.jobs if job.name.endswith("current-deliver")).output())


def run_host_step(tmp_path: Path, host_command: str, status: int = 0) -> list[dict]:
    """Run the deliver job's host step; what portal-run received, one entry per call."""
    job = deliver_job(tmp_path, host_command)
    (step,) = [c.text for c in job.findall("builders/hudson.tasks.Shell/command") if "ssh " in c.text]
    bin_dir, workspace, remote = tmp_path / "stub-bin", tmp_path / "workspace", tmp_path / "remote-home"
    for directory in (bin_dir, workspace / "package", remote):
        directory.mkdir(parents=True)
    for name, text in STUBS.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (workspace / "package/envdelivery.properties").write_text(f"ENVDELIVERY_VERSION={VERSION}\n")
    (workspace / "package/web-ui.docker.tar").write_text("image\n")
    script = tmp_path / "step.sh"
    script.write_text(step)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "REMOTE_HOME": str(remote),
           "SSH_KEY": str(tmp_path / "key"), "SSH_USER": "deploy", "WORKSPACE": str(workspace)}
    done = subprocess.run(["sh", "-xe", str(script)], cwd=workspace, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == status, done.stderr
    dest = remote / "envdelivery/web-ui" / VERSION
    assert sorted(p.name for p in dest.iterdir()) == ["envdelivery.properties", "web-ui.docker.tar"]
    received = remote / "received"
    assert received.exists(), done.stderr
    return [json.loads(line) for line in received.read_text().splitlines()]


def test_sudo_command_receives_the_version_argument(tmp_path):
    # The example organisation's portal team writes exactly this.
    (call,) = run_host_step(tmp_path, 'sudo portal-run web-ui "$ENVDELIVERY_VERSION"')
    assert call["args"] == ["web-ui", VERSION]
    assert call["cwd"].endswith(f"envdelivery/web-ui/{VERSION}")
    assert call["env"] is None  # sudo reset the environment; the argument carried the version


def test_version_is_exported_to_the_command(tmp_path):
    (call,) = run_host_step(tmp_path, "portal-run web-ui")
    assert call["env"] == VERSION


def test_documented_sudo_forms_keep_the_variable(tmp_path):
    (call,) = run_host_step(tmp_path, 'sudo ENVDELIVERY_VERSION="$ENVDELIVERY_VERSION" portal-run web-ui')
    assert call["env"] == VERSION


def test_command_text_arrives_verbatim(tmp_path):
    # Quotes, several lines, characters the Jenkins-side shell would otherwise interpret.
    command = "portal-run 'two words' \"$ENVDELIVERY_VERSION\" '$HOME' 'a;b'\nportal-run second-line"
    first, second = run_host_step(tmp_path, command)
    assert first["args"] == ["two words", VERSION, "$HOME", "a;b"]
    assert second["args"] == ["second-line"]


def test_a_command_reading_stdin_does_not_swallow_the_rest(tmp_path):
    # ssh's standard input carries the script; the team's commands read /dev/null instead.
    calls = run_host_step(tmp_path, "cat\nportal-run after-cat")
    assert [call["args"] for call in calls] == [["after-cat"]]


@pytest.mark.parametrize("failing, status", [("portal-run first\nfalse\nportal-run never", 1),
                                             ("portal-run first; exit 3", 3)])
def test_a_failing_host_command_fails_the_step(tmp_path, failing, status):
    # The remote script runs under `set -e`, and ssh exits with its status, which fails the step.
    calls = run_host_step(tmp_path, failing, status=status)
    assert [call["args"] for call in calls] == [["first"]]
