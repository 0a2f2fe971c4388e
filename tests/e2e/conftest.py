"""End to end: the example organisation's generated jobs, pushed into the Jenkins REST emulator
and run by the job runner (a test instrument: it runs the jobs this project generates, on this
machine; it is not Jenkins), from a commit to delivered packages and verified templates."""

from __future__ import annotations

import secrets
import shutil
import stat
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.cli.demo import DEMO_USER, demo_credentials, demo_plugins
from jjb_envdelivery.model.loader import load_organisation
from jjb_envdelivery.orchestration.demo import push_organisation
from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator


@pytest.fixture(autouse=True)
def _tools(require_commands):
    require_commands("git", "dpkg-deb")


@pytest.fixture
def org_copy(example_org_dir, tmp_path) -> Callable[..., Path]:
    """org_copy(edit=None) -> a copy of the example organisation; `edit(org_dir)` changes it first."""
    def copy(edit: Callable[[Path], None] | None = None) -> Path:
        dest = tmp_path / "org"
        shutil.copytree(example_org_dir, dest, ignore=shutil.ignore_patterns("__pycache__"))
        if edit is not None:
            edit(dest)
        return dest
    return copy


def edit_yaml(path: Path, change: Callable) -> None:
    """Rewrite a YAML file through `change(data)` (comments are lost: the copies are throw-away)."""
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@contextmanager
def pushed(org_dir: Path, work: Path, *projects: str):
    """The emulator, holding the organisation as bootstrap, the root scope's update and the
    named projects' updates left it (jobs of other projects are not needed to run these)."""
    org = load_organisation(org_dir)
    token = secrets.token_hex(8)
    with JenkinsEmulator(users={DEMO_USER: secrets.token_hex(8)}, tokens={DEMO_USER: token},
                         plugins=demo_plugins(), quiet_period=0.0,
                         credentials=demo_credentials(org)) as emulator:
        conf = work / "jenkins_jobs.ini"
        conf.write_text(f"[jenkins]\nurl={emulator.url}\nuser={DEMO_USER}\npassword={token}\n"
                        "query_plugins_info=False\n")
        reports = push_organisation(org, conf, work, work / "cache", say=lambda _: None, projects=projects)
        assert all(r.ok for r in reports), [r.scope for r in reports if not r.ok]
        yield emulator, org


def disable(emulator, prefix: str) -> None:
    """Disable the jobs whose full name starts with `prefix`, as `POST job/…/disable` does: their
    upstreams' triggers skip them (core BuildTrigger.java:287-289)."""
    with emulator.lock:
        for item in emulator.state.all_items():
            if item.full_name.startswith(prefix) and not item.is_folder:
                item.set_disabled(True)


def run_until(runner, job: str, limit: int = 20) -> list:
    """Run queued builds, in queue order, up to and including the first build of `job`."""
    ran = []
    while len(ran) < limit:
        record = runner.run_next()
        assert record is not None, f"the queue emptied before {job} ran: {[(b.job, b.result) for b in ran]}"
        ran.append(record)
        if record.job == job:
            return ran
    raise AssertionError(f"{job} did not run within {limit} builds")


def summary(records) -> list[tuple[str, int, str]]:
    return [(r.job, r.number, r.result) for r in records]


def console_tail(record, lines: int = 25) -> str:
    return f"{record.job} #{record.number} {record.result}:\n" + "\n".join(record.console.splitlines()[-lines:])


def executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path
