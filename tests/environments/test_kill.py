"""`env build`, `env deploy` and `env gc` killed (SIGKILL, like an aborted Jenkins build) at random
points and inside the save, the copy and the delete: the catalog never holds a half-registered
template, nor a usable one without its snapshot, nor an environment without its complete copy, and
the next command cleans up and a rerun succeeds.

The kill takes every process of the build, found as Jenkins finds them (ProcessTreeKiller: by an
environment variable every process of the build inherits), not by process group: the provisioning
tool and validation commands run in process groups of their own (``process.run_shell``)."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from jjb_envdelivery.environments import clone

# Seven `env build` processes killed, each followed by recovery, then a full build.
pytestmark = pytest.mark.slow

LINE = ["--variant", "minimal", "--release", "current"]
BUILD = ["jjb-envdelivery", "env", "build", "--org-file", "delivery.yaml", *LINE]
HOSTS = 11  # hosts of the minimal variant: one per service


COOKIE = "ENVDELIVERY_TEST_BUILD_COOKIE"


def _start(workspace: Path, env: dict, command: list[str] = BUILD) -> subprocess.Popen:
    cookie = uuid.uuid4().hex
    process = subprocess.Popen(command, cwd=workspace, env={**env, COOKIE: cookie}, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    process.cookie = cookie
    return process


def _members(cookie: str) -> list[int]:
    """Processes whose environment carries the build's cookie (how Jenkins finds a build's processes)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if f"{COOKIE}={cookie}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                    pids.append(int(proc.name))
            except OSError:
                continue  # ended meanwhile, or not ours to read
    return pids


def _kill(process: subprocess.Popen) -> int:
    # The CLI first (it must not see its children die and react), then everything it started.
    for pid in [process.pid, *_members(process.cookie)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return process.wait(timeout=30)


def _wait_for(condition, process: subprocess.Popen, limit: float = 60.0) -> bool:
    """Poll until `condition()` or the process ends; True if the condition came first."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.005)  # the poll interval; the deadline above bounds the wait
    raise AssertionError("neither the condition nor the end of the build came")


def _rows(store: Path) -> list[sqlite3.Row]:
    """The catalog's rows, read only (a kill before the first write leaves no catalog, hence no rows)."""
    path = store / "catalog.sqlite"
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM templates").fetchall()
    finally:
        db.close()


def _assert_usable_complete(store: Path) -> None:
    """Every template the catalog offers (built/verified) has its whole snapshot."""
    for row in _rows(store):
        if row["status"] in ("built", "verified"):
            snapshot = store / "templates" / row["id"]
            assert (snapshot / "template.json").is_file(), row["id"]
            hosts = [p for p in (snapshot / "tree").iterdir() if p.is_dir()]
            assert len(hosts) == HOSTS, row["id"]
            assert len({(h / "disk.img").stat().st_size for h in hosts}) == 1, row["id"]
            manifest = json.loads((snapshot / "manifest.json").read_text())
            assert clone.manifest(snapshot / "tree") == manifest, row["id"]


def _assert_clean(store: Path) -> None:
    rows = _rows(store)
    assert all(r["status"] in ("built", "verified", "failed") for r in rows)
    assert sorted(p.name for p in (store / "templates").iterdir()) == sorted(r["id"] for r in rows)
    assert list((store / "environments").iterdir()) == []
    assert list((store / "tmp").iterdir()) == []


@pytest.mark.parametrize("seed", [11])
def test_killed_builds_leave_a_consistent_catalog(workspace, job_env, cli, capsys, tmp_path, seed):
    store = tmp_path / "store"
    env = {**job_env, "ENVTOOL_SLEEP": "0.5", "ENVTOOL_DISK_KB": "512"}
    rng = random.Random(seed)
    # Where to kill: seeded random delays, plus two points found by watching the store (not timing):
    # while the tool provisions, and while the snapshot is being written.
    points = [("delay", rng.uniform(0.05, 1.5)) for _ in range(5)]
    points += [("provisioning", lambda: any((store / "environments").glob("build-*"))),
               ("saving", lambda: any((store / "tmp").glob("*.saving")))]
    recovered = []
    for kind, when in points:
        process = _start(workspace, env)
        if kind == "delay":
            # The sleep is the thing under test: a kill at a seeded random moment, wherever the
            # build happens to be (the other two points wait on the store's observable state).
            time.sleep(when)
            hit = process.poll() is None
        else:
            hit = _wait_for(when, process)
        status = _kill(process)
        _assert_usable_complete(store)
        assert cli("env", "list") == 0  # any command recovers first
        err = capsys.readouterr().err  # recovery reports on stderr
        recovered += [line for line in err.splitlines() if line.startswith("recovered:")]
        _assert_clean(store)
        if kind != "delay":
            assert hit and status == -signal.SIGKILL, f"the build was not killed while {kind}"
    assert any("saving when its process ended" in line for line in recovered), recovered
    assert any("(build, its process ended)" in line for line in recovered), recovered

    versions_before = [r["version"] for r in _rows(store)]
    done = subprocess.run(BUILD, cwd=workspace, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _rows(store)
    newest = max(rows, key=lambda r: r["version"])
    assert newest["status"] == "built" and newest["version"] > max(versions_before, default=0)
    _assert_usable_complete(store)
    _assert_clean(store)


DEPLOY = ["jjb-envdelivery", "env", "deploy", "--org-file", "delivery.yaml", *LINE]
GC = ["jjb-envdelivery", "env", "gc", "--org-file", "delivery.yaml", *LINE, "--keep", "1"]


def _environment_rows(store: Path) -> list[sqlite3.Row]:
    db = sqlite3.connect(store / "catalog.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM environments").fetchall()
    finally:
        db.close()


def _assert_environments_complete(store: Path) -> None:
    """Every registered environment is a whole copy of its template, and every directory is registered."""
    rows = _environment_rows(store)
    assert sorted(p.name for p in (store / "environments").iterdir() if p.is_dir()) == sorted(r["id"] for r in rows)
    for row in rows:
        manifest = json.loads((store / "templates" / row["template_id"] / "manifest.json").read_text())
        assert clone.manifest(store / "environments" / row["id"]) == manifest, row["id"]


def test_killed_deploys_and_gcs_lose_no_template(workspace, job_env, cli, tmp_path, monkeypatch):
    store = tmp_path / "store"
    # Big disks (11 x 4 MB) make the copy and the delete long enough to be caught in the act.
    monkeypatch.setenv("ENVTOOL_DISK_KB", "4096")
    for _ in range(4):
        assert cli("env", "build", *LINE) == 0
        assert cli("env", "verify", "--latest", *LINE) == 0
    assert cli("env", "deploy", "--template", "minimal-current-v1") == 0  # v1 in use: gc must keep it
    kept_env = [r["id"] for r in _environment_rows(store)]
    env = {**job_env, "ENVTOOL_DISK_KB": "4096"}

    # A deploy killed while it copies: the next command removes the partial environment.
    deploy = _start(workspace, env, [*DEPLOY, "--version", "4"])
    copying = _wait_for(lambda: any(p.is_dir() for p in (store / "environments").glob("deploy-*-v4-*")), deploy)
    status = _kill(deploy)
    assert copying and status == -signal.SIGKILL, "the deploy was not killed while it copied"
    assert cli("env", "list") == 0
    assert [r["id"] for r in _environment_rows(store)] == kept_env
    _assert_environments_complete(store)
    _assert_clean_but_environments(store)

    # gc killed while it deletes (watched), then at a seeded random moment: no template it must keep
    # is touched, a half-deleted one is finished by the next command, nothing is left over.
    rng = random.Random(15)
    for kind in ("deleting", "delay"):
        gc = _start(workspace, env, GC)
        if kind == "delay":
            time.sleep(rng.uniform(0.2, 0.8))  # a kill at a random moment, wherever gc happens to be
        else:
            _wait_for(lambda: any((store / "tmp").glob("*.deleting")), gc)
        _kill(gc)
        assert cli("env", "list") == 0
        _assert_usable_complete(store)
        _assert_environments_complete(store)
        _assert_clean_but_environments(store)
        names = {r["id"] for r in _rows(store)}
        assert {"minimal-current-v1", "minimal-current-v4"} <= names
    assert cli("env", "gc", *LINE, "--keep", "1") == 0
    assert sorted(r["id"] for r in _rows(store)) == ["minimal-current-v1", "minimal-current-v4"]
    assert cli("env", "deploy", "--template", "minimal-current-v4") == 0
    _assert_environments_complete(store)


def _assert_clean_but_environments(store: Path) -> None:
    rows = _rows(store)
    assert all(r["status"] in ("built", "verified", "failed") for r in rows)
    assert sorted(p.name for p in (store / "templates").iterdir()) == sorted(r["id"] for r in rows)
    assert list((store / "tmp").iterdir()) == []
