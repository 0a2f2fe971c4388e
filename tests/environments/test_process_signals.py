"""A SIGTERM that arrives while a tool is being started must not orphan it.

Jenkins aborts a build with SIGTERM; the CLI turns it into an exception and the caller kills the
tool's process group. If the exception were raised inside ``Popen`` (after the fork), the caller
would have no process to kill and the tool would run on after the cleanup removed its files (seen
once in CI: the tool's traceback after "terminated (SIGTERM) after cleaning up")."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from jjb_envdelivery.environments import process


class Stopped(Exception):
    pass


@pytest.fixture
def raising_sigterm():
    def handler(_signum, _frame):
        raise Stopped

    before = signal.signal(signal.SIGTERM, handler)
    yield
    signal.signal(signal.SIGTERM, before)


def test_a_signal_during_the_start_is_delivered_after_the_process_exists(raising_sigterm):
    reached = []
    with pytest.raises(Stopped):
        with process.signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            reached.append("body finished")
    assert reached == ["body finished"]
    # The caller's handler is back in place.
    with pytest.raises(Stopped):
        os.kill(os.getpid(), signal.SIGTERM)


def test_no_signal_no_exception(raising_sigterm):
    with process.signals_deferred():
        pass
    assert signal.getsignal(signal.SIGTERM).__name__ == "handler"


def test_run_shell_kills_the_group_when_sigterm_lands_in_the_start(raising_sigterm, monkeypatch, tmp_path):
    """Send SIGTERM from inside Popen (after the child exists): run_shell must still kill the child."""
    pid_file = tmp_path / "tool.pid"
    started = []
    real_popen = subprocess.Popen

    def popen_then_signal(*args, **kwargs):
        child = real_popen(*args, **kwargs)
        started.append(child)
        os.kill(os.getpid(), signal.SIGTERM)  # lands before Popen returns to run_shell
        return child

    monkeypatch.setattr(process.subprocess, "Popen", popen_then_signal)
    try:
        with pytest.raises(Stopped):
            process.run_shell(f"echo $$ > {pid_file}; exec sleep 60")
        assert started[0].returncode == -signal.SIGKILL, "the tool was left running"
    finally:
        for child in started:
            if child.poll() is None:
                process.kill_group(child)
