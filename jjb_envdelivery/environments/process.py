"""Which process owns something, whether it is still alive, and running commands that die whole.

A token is ``host:pid:start-time``: the start time (from /proc) tells a reused pid from the
original process, so a killed build's leftovers are not mistaken for a live build's.

A lease is a token with an expiry: the only way to tell that an owner on another machine (another
Jenkins agent) is gone. Providers whose state is shared between machines (Skytap, the command
provider) record leases; the local provider, on one machine, records tokens.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

# How long a lease lasts unless its holder renews it: longer than any single provider step.
LEASE_SECONDS = 6 * 3600
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # Field 22 (starttime); the command name (field 2) may contain spaces, so split after it.
    return stat.rsplit(")", 1)[1].split()[19]


def my_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def is_alive(token: str | None) -> bool:
    """False only when the owner is known to be gone; a process on another host counts as alive."""
    if not token:
        return False
    host, _, rest = token.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname():
        return True
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    current = _start_time(pid)
    if current and started and current != started:
        return False
    # A zombie (killed, not yet reaped by its parent) is gone for our purposes.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state not in ("Z", "X")


def new_lease(seconds: float = LEASE_SECONDS) -> dict:
    """``{"owner": token, "expires": UTC time}`` for this process."""
    expires = datetime.now(UTC) + timedelta(seconds=seconds)
    return {"owner": my_token(), "expires": expires.strftime(TIME_FORMAT)}


def lease_held(lease: dict | None) -> bool:
    """True while the lease's owner may still be working: alive (as far as this host can tell) and
    not expired. A lease that cannot be read is treated as held: never reclaim what we cannot judge."""
    if not lease:
        return False
    try:
        expires = datetime.strptime(str(lease["expires"]), TIME_FORMAT).replace(tzinfo=UTC)
        owner = str(lease["owner"])
    except (KeyError, TypeError, ValueError):
        return True
    return datetime.now(UTC) < expires and is_alive(owner)


def run_shell(command: str, *, cwd=None, env: dict | None = None, timeout: float | None = None,
              capture: bool = False) -> subprocess.CompletedProcess:
    """Run ``command`` through the shell in a session of its own, so that on a timeout, or when this
    process is interrupted, the whole process group dies (``shell=True`` with ``subprocess.run`` kills
    only the shell and leaves the tool running). Raises ``subprocess.TimeoutExpired`` after the kill.
    ``capture``: stdout and stderr together, as text, in ``.stdout``."""
    with process_group(command, cwd=cwd, env=env, stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.STDOUT if capture else None, text=capture or None) as process:
        out, _ = communicate(process, timeout=timeout)
    return subprocess.CompletedProcess(command, process.returncode, out, None)


# How often a wait looks at a SIGTERM or SIGINT held meanwhile (communicate).
SIGNAL_CHECK_SECONDS = 0.1


def communicate(process: subprocess.Popen, timeout: float | None = None) -> tuple:
    """``process.communicate(timeout=timeout)``, with SIGTERM and SIGINT held while subprocess's own
    code runs and acted on between slices of the wait. A signal's exception raised inside
    ``Popen.wait`` can land between its ``_waitpid_lock.acquire(False)`` and the ``try`` that
    releases it (CPython 3.11, Lib/subprocess.py, ``Popen._wait``): the lock stays held and every
    later wait on that process, the one that reaps it after a kill included, hangs for ever (seen:
    a SIGTERMed build stuck beside its dead tool). Input comes from a file given as stdin (input
    sent by communicate is lost when it is retried). Raises ``TimeoutExpired`` after ``timeout``."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with signals_deferred() as held:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(process.args, timeout)
            try:
                # Retrying after TimeoutExpired loses no output (the subprocess documentation).
                return process.communicate(timeout=SIGNAL_CHECK_SECONDS if left is None
                                           else min(SIGNAL_CHECK_SECONDS, left))
            except subprocess.TimeoutExpired:
                if held:
                    break  # leaving signals_deferred raises what was held (Terminated: exit 143)
    raise AssertionError("unreachable: a held signal is raised when signals_deferred ends")


@contextmanager
def process_group(command: str, **popen_options) -> Iterator[subprocess.Popen]:
    """Start ``command`` through the shell as the leader of a new session; if anything is raised
    before the body ends (a timeout, SIGTERM from Jenkins), kill the whole group, then re-raise.
    SIGTERM and SIGINT that arrive while it starts are held until the ``Popen`` is in hand: raised
    inside ``Popen`` they would orphan a child that is already running."""
    process = None
    try:
        with signals_deferred():
            process = subprocess.Popen(command, shell=True, start_new_session=True, **popen_options)
        yield process
    except BaseException:
        if process is not None:
            kill_group(process)
        raise


@contextmanager
def signals_deferred() -> Iterator[list[int]]:
    """Hold SIGTERM and SIGINT for the body, then deliver them to the handlers that were in place;
    yields the list of those held so far. Only the main thread receives Python signals; elsewhere
    this does nothing (and the list stays empty)."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = {sig: signal.signal(sig, lambda signum, _frame: held.append(signum))
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield held
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(held):
            signal.raise_signal(sig)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process's whole group and reap the leader (a second SIGTERM waits for that)."""
    with signals_deferred():
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def run_interruptible(args: list[str], *, timeout: float, data: bytes | None = None,
                      **popen_options) -> subprocess.CompletedProcess:
    """``subprocess.run(args, input=data, timeout=timeout, ...)`` (one process, killed on a timeout
    or when this process is interrupted), waiting as ``communicate`` does, so SIGTERM from Jenkins
    can never leave the wait for the killed process hanging."""
    with request_file(data) if data is not None else nullcontext() as stdin:
        if stdin is not None:
            popen_options["stdin"] = stdin
        with signals_deferred():
            process = subprocess.Popen(args, **popen_options)
        try:
            out, err = communicate(process, timeout)
        except BaseException:
            with signals_deferred():
                process.kill()
                for stream in (process.stdout, process.stderr):
                    if stream is not None:
                        stream.close()
                process.wait()
            raise
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def request_file(data: str | bytes):
    """A file holding ``data``, read from its start: a child's stdin (see ``communicate``)."""
    stdin = tempfile.TemporaryFile()
    stdin.write(data.encode() if isinstance(data, str) else data)
    stdin.seek(0)
    return stdin
