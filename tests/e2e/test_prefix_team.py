"""A prefix team end to end: the portal team (namespace: the name prefix `portal-`, jobs at the
top level), one of whose services is given a recipe that runs here: a shell build, a Debian
package, and delivery over ssh to its host. The jobs are the generated ones, pushed into the
emulator; the job runner runs them (a test instrument, not Jenkins)."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

from jjb_envdelivery.orchestration.demo import (
    git,
    make_repository,
    referenced_credentials,
    write_credential_file,
)
from jjb_envdelivery.testing.job_runner import JobRunner
from tests.e2e.conftest import console_tail, disable, edit_yaml, executable, pushed, summary

SERVICE = "web-ui"
URL = f"https://git.example.com/portal/{SERVICE}.git"
HOST = "portal.svc.example.com"
CI, PACKAGE, DELIVER = (f"portal-{SERVICE}-current-{stage}" for stage in ("ci", "package", "deliver"))

RECIPE = {  # what a portal team would write for a static web front end
    "name": f"portal-{SERVICE}",
    "service": SERVICE,
    "git-url": URL,
    "git-credential-id": "portal-git-read",
    "build": "mkdir -p dist\ncp -R site/. dist/\n",
    "validate": "grep -q '<title>web-ui</title>' dist/index.html\n",
    "artifacts": "dist/**",
    "package": "deb",
    "deb-install-dir": f"/srv/{SERVICE}",
    "deliver-host": "ssh",
    "service-host": HOST,
    "host-command": 'sudo portal-run {service} "$ENVDELIVERY_VERSION"',  # as in the example organisation
    "host-credential-id": "portal-deploy-ssh",
    "jobs": ["envdelivery-service"],
}

# --- test instruments: stand-ins for ssh, scp and sudo on the deliver job's agent -------------
# ssh runs the remote command with `sh -c` in a directory standing for the host's home; scp copies
# there; sudo keeps only PATH, as sudo's default env_reset does; portal-run records its arguments.
SSH = """#!/bin/sh
# TEST INSTRUMENT (tests/e2e): stands in for ssh; runs the command locally in {remote}/<host>.
while [ $# -gt 0 ]; do
  case $1 in -i|-o|-p|-l) shift 2 ;; -*) shift ;; *) break ;; esac
done
host=${{1#*@}}
shift
mkdir -p "{remote}/$host"
cd "{remote}/$host"
exec sh -c "$*"
"""
SCP = """#!/bin/sh
# TEST INSTRUMENT (tests/e2e): stands in for scp; copies local files to {remote}/<host>/<path>.
while [ $# -gt 0 ]; do
  case $1 in -i|-o|-P) shift 2 ;; -*) shift ;; *) break ;; esac
done
files=
while [ $# -gt 1 ]; do files="$files $1"; shift; done
host=${{1%%:*}}
host=${{host#*@}}
cp $files "{remote}/$host/${{1#*:}}"
"""
SUDO = """#!/bin/sh
# TEST INSTRUMENT (tests/e2e): stands in for sudo with env_reset: the command gets PATH only.
exec env -i PATH="$PATH" "$@"
"""
PORTAL_RUN = """#!/bin/sh
# TEST INSTRUMENT (tests/e2e): the service's start command on its host; records its arguments.
for arg in "$@"; do printf '[%s]' "$arg"; done >> "{log}"
echo >> "{log}"
"""


def _runnable_web_ui(org_dir: Path) -> None:
    def split(data):
        project = data[0]["project"]
        project["service"] = [s for s in project["service"] if s != SERVICE]
        data.append({"project": {**RECIPE, "node": "portal-build"}})
    edit_yaml(org_dir / "teams/portal/jenkins/services.yaml", split)


def _stubs(tmp_path: Path) -> tuple[Path, Path, Path]:
    stubs, remote = tmp_path / "stubs", tmp_path / "remote"
    stubs.mkdir()
    remote.mkdir()
    log = remote / "portal-run.log"
    executable(stubs / "ssh", SSH.format(remote=remote))
    executable(stubs / "scp", SCP.format(remote=remote))
    executable(stubs / "sudo", SUDO)
    executable(stubs / "portal-run", PORTAL_RUN.format(log=log))
    return stubs, remote, log


def test_a_commit_is_built_packaged_and_delivered_to_its_host_over_ssh(org_copy, tmp_path):
    """Defect 8: the deliver job runs `host-command` on the service host, with the version in
    ENVDELIVERY_VERSION. `sudo portal-run {service} "$ENVDELIVERY_VERSION"` must reach the host
    with the version as its second argument, also through sudo's env_reset."""
    source = tmp_path / "web-ui-source"
    (source / "site").mkdir(parents=True)
    (source / "site/index.html").write_text("<html><head><title>web-ui</title></head></html>\n")
    repo = make_repository(source, tmp_path / "repos" / SERVICE, ["release/2026.11"], "web-ui: first page")
    commit = git(repo, "rev-parse", "HEAD")
    stubs, remote, log = _stubs(tmp_path)
    with pushed(org_copy(_runnable_web_ui), tmp_path, "portal") as (emulator, _org):
        configs = {name: emulator.job_config(name) for name in emulator.jobs()}
        credentials = write_credential_file(tmp_path / "credentials.json", referenced_credentials(configs), {})
        path = os.pathsep.join([str(stubs), sysconfig.get_path("scripts"), os.environ["PATH"]])
        runner = JobRunner(emulator, tmp_path / "jenkins", remotes={URL: repo}, credentials=credentials,
                           env={**os.environ, "PATH": path})
        disable(emulator, "delivery/env-")  # web-ui is in the full variant; this test follows its own jobs
        assert runner.poll(CI)
        records = runner.run_queue()
        assert summary(records) == [(CI, 1, "SUCCESS"), (PACKAGE, 1, "SUCCESS"), (DELIVER, 1, "SUCCESS")], \
            "\n\n".join(console_tail(r) for r in records)

    version = f"1-g{commit[:7]}"  # <CI build>-g<commit>, envdelivery-package.yaml
    delivered = remote / HOST / "envdelivery" / SERVICE / version
    assert [p.name for p in delivered.glob("*.deb")] == [f"{SERVICE}_{version}_all.deb"]
    assert log.read_text() == f"[{SERVICE}][{version}]\n"
