"""The scope cache's journal: every confirmed write is on disk at once, so a killed update loses
nothing it pushed, and its rerun pushes only what the killed run had not confirmed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.jjb.rendered import ItemKind
from jjb_envdelivery.push.cache import ScopeCache
from jjb_envdelivery.testing.emulator_faults import Fault

from .conftest import BIN
from .test_push_faults import fault_free, server_state

URL = "http://jenkins.example:8080/"


def journal_lines(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass  # torn
    return lines


def test_records_survive_a_run_that_never_saves(tmp_path):
    cache = ScopeCache(tmp_path, URL, "payments")
    cache.record("a", "d1", "a", ItemKind.JOB, b"<project/>")
    cache.record("b", "d2", "b", ItemKind.JOB, b"<project/>")
    cache.forget("b")
    cache.close()  # killed before save(): only the journal holds the writes
    assert not cache.path.exists() and cache.journal_path.exists()
    again = ScopeCache(tmp_path, URL, "payments")
    assert again.entries == {"a": "d1"} and again.applied["a"]["xml"] == "<project/>"
    again.save()
    assert not again.journal_path.exists()
    assert json.loads(again.path.read_text()) == {"a": "d1"}
    again.close()
    assert ScopeCache(tmp_path, URL, "payments").entries == {"a": "d1"}


def test_a_torn_last_line_is_ignored_and_does_not_spoil_the_next(tmp_path):
    cache = ScopeCache(tmp_path, URL, "web")
    cache.record("a", "d1", "a", ItemKind.JOB, b"<project/>")
    cache.close()
    with open(cache.journal_path, "a", encoding="utf-8") as journal:
        journal.write('{"op": "record", "key": "b", "dig')  # killed mid-line
    torn = ScopeCache(tmp_path, URL, "web")
    assert torn.entries == {"a": "d1"}
    torn.record("c", "d3", "c", ItemKind.VIEW, b"<hudson.model.ListView/>")
    torn.close()
    assert ScopeCache(tmp_path, URL, "web").entries == {"a": "d1", "c": "d3"}


def test_a_killed_update_loses_nothing_it_pushed(emu, conf, tmp_path, small):
    cache_dir = tmp_path / "cache"
    args = ["update", "--scope", "root", "--org-file", str(small / "delivery.yaml"), "--conf", str(conf),
            "--cache-dir", str(cache_dir), "--workers", "2"]
    emu.faults.faults.append(Fault("latency", rate=1, seconds=0.3, pattern="POST *"))
    proc = subprocess.Popen([str(BIN / "jjb-envdelivery"), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")})
    try:
        deadline = time.monotonic() + 120  # a bound on the wait, not a measurement
        journal = None
        while time.monotonic() < deadline and proc.poll() is None:
            journal = next(cache_dir.rglob("root.journal"), None)
            if journal and len(journal_lines(journal)) >= 4:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL  # killed mid-push, not finished
    confirmed = {line["key"] for line in journal_lines(journal)}
    assert len(confirmed) >= 4
    emu.faults.faults.clear()
    expected = fault_free(small, tmp_path, "root")
    assert len(confirmed) < len(expected)

    emu.clear_log()
    assert main(args) == 0
    rerun = [r for r in emu.request_log if r.method == "POST"]
    # Every item the killed run confirmed is unchanged now; the others are pushed once each
    # (created, or changed when the killed run's POST got through but its answer never came back).
    assert len(rerun) == len(expected) - len(confirmed)
    assert server_state(emu) == expected
    assert not journal.exists()  # folded into the cache files by save()


def test_a_full_disk_never_fails_the_push(emu, conf, tmp_path, monkeypatch, capsys, caplog, small):
    """ENOSPC on the journal and on save: the push goes on and succeeds (its writes are confirmed by
    Jenkins), one warning each, no traceback, no temporary file left; the old cache files stay."""
    import errno

    from jjb_envdelivery.push import cache as cache_module

    args = ["update", "--scope", "root", "--org-file", str(small / "delivery.yaml"), "--conf", str(conf),
            "--cache-dir", str(tmp_path / "cache")]

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_module, "_open_journal", full)
    monkeypatch.setattr(cache_module.os, "fsync", full)
    assert main(args) == 0
    warnings = [r.getMessage() for r in caplog.records if r.name == "jjb_envdelivery.push.cache"]
    assert len(warnings) == 2, warnings
    assert "could not journal the scope cache" in warnings[0] and "could not save the scope cache" in warnings[1]
    assert all("No space left on device" in w for w in warnings)
    assert "Traceback" not in capsys.readouterr().err
    assert server_state(emu) == fault_free(small, tmp_path, "root")
    assert not [p for p in (tmp_path / "cache").rglob(".cache-*")]
    monkeypatch.undo()
    # With the disk back, the next run compares again and converges: nothing was lost on the server.
    assert main(args) == 0
