"""An emulator with the plugins the generated jobs need, a JJB ini for it, and a way to run a
stored job's shell steps as Jenkins would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from jjb_envdelivery import ownership
from jjb_envdelivery.cli.demo import demo_plugins
from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator

USER, TOKEN = "updater", "0123456789abcdef0123456789abcdef"
BIN = Path(sys.executable).parent


# A well-set-up server: the example organisation's updater credential in its root folder's store
# (bootstrap checks it; the folder gets it when bootstrap creates it).
UPDATER_CREDENTIAL = {"id": "jjb-updater-config", "folder": "delivery"}


def new_emulator() -> JenkinsEmulator:
    return JenkinsEmulator(users={USER: "pw"}, tokens={USER: TOKEN}, plugins=demo_plugins(), quiet_period=0.0,
                           credentials=[UPDATER_CREDENTIAL])


def write_conf(emu, path: Path) -> Path:
    path.write_text(f"[jenkins]\nurl={emu.url}\nuser={USER}\npassword={TOKEN}\nquery_plugins_info=False\n")
    return path


@pytest.fixture
def emu():
    with new_emulator() as server:
        yield server


@pytest.fixture
def rest(emu):
    """A raw HTTP session with the updater's API token (exempt from crumbs)."""
    session = requests.Session()
    session.auth = (USER, TOKEN)
    yield session
    session.close()


@pytest.fixture
def conf(emu, tmp_path) -> Path:
    return write_conf(emu, tmp_path / "jenkins_jobs.ini")


SMALL_ORG = Path(__file__).parents[1] / "render" / "fixtures" / "small-org"


@pytest.fixture
def small(tmp_path) -> Path:
    """A writable copy of the small organisation (two teams, plain JJB jobs)."""
    return Path(shutil.copytree(SMALL_ORG, tmp_path / "org"))


@pytest.fixture
def org_copy(example_org_dir, tmp_path) -> Path:
    """A writable copy of the example organisation (the jobs repo with the teams' repos inside)."""
    return Path(shutil.copytree(example_org_dir, tmp_path / "org"))


def shell_steps(config_xml: str) -> list[str]:
    return [e.findtext("command") for e in ET.fromstring(config_xml.encode()).iter("hudson.tasks.Shell")]


def owner(emu, name: str) -> str | None:
    return ownership.owner_of(ET.fromstring(emu.job_config(name).encode()).findtext("description"))


def run_job(emu, job: str, workspace: Path, conf: Path, cache: Path) -> subprocess.CompletedProcess:
    """Run the stored job's shell steps as Jenkins does: `sh -xe` in the workspace, with the
    environment Jenkins sets and the credential bound to JJB_CONF."""
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(cache.parent),
        "XDG_CACHE_HOME": str(cache),
        "WORKSPACE": str(workspace),
        "JOB_NAME": job,
        "BUILD_NUMBER": "1",
        "BUILD_URL": f"{emu.url}job/{job}/1/",
        "JENKINS_URL": emu.url,
        "JJB_CONF": str(conf),
    }
    result = None
    for step in shell_steps(emu.job_config(job)):
        result = subprocess.run(["/bin/sh", "-xe", "-c", step], cwd=workspace, env=env, capture_output=True,
                                text=True, timeout=300)
        if result.returncode:
            break
    return result


def make_agent(emu, conf, cache: Path) -> SimpleNamespace:
    cache.mkdir(parents=True, exist_ok=True)
    return SimpleNamespace(
        run=lambda job, workspace: run_job(emu, job, workspace, conf, cache),
        owner=lambda name: owner(emu, name),
        view_owner=lambda name: ownership.owner_of(ET.fromstring(emu.view_config(name).encode())
                                                    .findtext("description")),
        cache=cache,
    )


@pytest.fixture
def agent(emu, conf, tmp_path):
    """A Jenkins agent: runs a stored job's shell steps; `owner` reads a stored item's owner."""
    return make_agent(emu, conf, tmp_path / "agent-cache")


def normal_xml(text: str | bytes):
    """An XML tree as nested tuples, ignoring only indentation (whitespace-only text), so
    Jenkins's re-serialised copy and JJB's output compare by content."""
    element = ET.fromstring(text.encode() if isinstance(text, str) else text)

    def walk(e):
        body = e.text if e.text and e.text.strip() else None
        return (e.tag, tuple(sorted(e.attrib.items())), body, tuple(walk(c) for c in e))

    return walk(element)


@pytest.fixture(scope="session")
def world():
    """For tests that need a second, independent server."""
    return SimpleNamespace(new_emulator=new_emulator, write_conf=write_conf, make_agent=make_agent,
                           normal_xml=normal_xml)
