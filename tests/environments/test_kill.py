"""`env build` killed (SIGKILL, like an aborted Jenkins build) at random points and inside the save:
the catalog never holds a half-registered template, nor a usable one without its snapshot, and
the next command cleans up and a rerun succeeds."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

# Seven `env build` processes killed, each followed by recovery, then a full build.
pytestmark = pytest.mark.slow

BUILD = ["jjb-envdelivery", "env", "build", "--org-file", "delivery.yaml", "--variant", "minimal",
         "--release", "current"]
HOSTS = 11  # hosts of the minimal variant: one per service


def _start(workspace: Path, env: dict) -> subprocess.Popen:
    # Its own process group, so the kill also takes the tool and validation commands, as Jenkins does.
    return subprocess.Popen(BUILD, cwd=workspace, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill(process: subprocess.Popen) -> int:
    try:
        os.killpg(process.pid, signal.SIGKILL)
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
    db = sqlite3.connect(store / "catalog.sqlite")
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
            assert all((h / "disk.img").stat().st_size == 512 * 1024 for h in hosts), row["id"]


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
        out = capsys.readouterr().out
        recovered += [line for line in out.splitlines() if line.startswith("recovered:")]
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
