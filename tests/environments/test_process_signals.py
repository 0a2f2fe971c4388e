"""A SIGTERM that arrives while a tool is being started must not orphan it.

Jenkins aborts a build with SIGTERM; the CLI turns it into an exception and the caller kills the
tool's process group. If the exception were raised inside ``Popen`` (after the fork), the caller
would have no process to kill and the tool would run on after the cleanup removed its files (seen
once in CI: the tool's traceback after "terminated (SIGTERM) after cleaning up")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

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


# A SIGTERM whose exception lands inside Popen's wait, just after ``_waitpid_lock.acquire(False)``
# and before the ``try`` that releases it (CPython 3.11 Lib/subprocess.py, Popen._wait), leaves the
# lock held; the wait that reaps the killed child then blocks for ever. Seen: a SIGTERMed container
# build stuck in kill_group beside its dead tool. The child script below makes that moment
# certain: its lock raises SIGTERM once, from inside a non-blocking acquire that succeeded.
WINDOW = r'''
import signal, subprocess, sys, threading, time
from jjb_envdelivery.environments import process

class Terminated(BaseException):
    pass

def handler(signum, frame):
    raise Terminated

class WindowLock:
    def __init__(self):
        self.lock, self.fired = threading.Lock(), False
    def acquire(self, blocking=True, timeout=-1):
        got = self.lock.acquire(blocking, timeout)
        if got and not blocking and not self.fired and time.monotonic() > start + 0.3:
            self.fired = True
            signal.raise_signal(signal.SIGTERM)
        return got
    def release(self):
        self.lock.release()
    def __enter__(self):
        return self.acquire()
    def __exit__(self, *exc):
        self.release()

init = subprocess.Popen.__init__
def windowed(self, *args, **kwargs):
    init(self, *args, **kwargs)
    self._waitpid_lock = WindowLock()
subprocess.Popen.__init__ = windowed
signal.signal(signal.SIGTERM, handler)
start = time.monotonic()
try:
    if sys.argv[1] == "shell":
        process.run_shell("sleep 30", timeout=60)
    else:
        # It closes its pipes at once, so the wait for its exit (where the window is) begins.
        process.run_interruptible(["sh", "-c", "exec >&- 2>&-; sleep 30"], timeout=60, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
except Terminated:
    print("terminated in %.1fs" % (time.monotonic() - start))
'''


@pytest.mark.parametrize("how", ["shell", "interruptible"])
def test_sigterm_inside_popen_wait_never_hangs_the_cleanup(how, tmp_path):
    """With ``process.communicate`` the signal is held while subprocess's code runs and acted on
    between slices: the tool is killed and reaped, and the exception reaches the caller."""
    script = tmp_path / "window.py"
    script.write_text(WINDOW)
    done = subprocess.run([sys.executable, str(script), how], capture_output=True, text=True, timeout=25)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("terminated in "), done.stdout + done.stderr
    assert float(done.stdout.split()[2].rstrip("s")) < 10  # killed, not waited out
