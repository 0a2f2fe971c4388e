"""``hudson.tasks.Shell`` as core runs it (core Shell.java:84-135, CommandInterpreter.java:108-203).

The command goes to a temporary script ``jenkins<random>.sh`` in the system temporary directory
(``createTextTempFile(…, false)``) with a leading newline unless it starts with ``#!``
(``addLineFeedForNonASCII``); it runs as ``/bin/sh -xe SCRIPT``, or with the ``#!`` line's
interpreter and arguments, in the workspace, with the build's environment plus its build
variables; stdout and stderr go to the console; the script is deleted afterwards. A non-zero
exit fails the step (the remaining build steps are skipped), unless it equals
``unstableReturn``, which makes the build UNSTABLE and goes on.

Each step runs in its own process group, so a build timeout kills what it started, and what a
step left running is killed when the build ends (as Jenkins kills processes carrying the
build's environment cookie, core AbstractBuild.java:531-535).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from .errors import BuildInterrupted
from .xml_fields import integer, text


@dataclass(frozen=True)
class Shell:
    command: str
    unstable_return: int | None

    display_name = "Execute shell"

    def run(self, ctx: Any) -> bool:
        command = self.command.replace("\r\n", "\n").replace("\r", "\n")
        contents = command if command.startswith("#!") or command.startswith("\n") \
            else "\n" + command
        fd, script = tempfile.mkstemp(prefix="jenkins", suffix=".sh")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(contents)
        try:
            if command.startswith("#!"):
                first = command.split("\n", 1)[0]
                argv = shlex.split(first[2:].strip()) + [script]
            else:
                argv = ["/bin/sh", "-xe", script]
            ctx.console.line(f"[{ctx.workspace.name}] $ {' '.join(argv)}")
            code = run_process(ctx, argv)
        finally:
            try:
                os.unlink(script)
            except OSError:
                pass
        if code != 0 and self.unstable_return is not None and code == self.unstable_return:
            ctx.set_result("UNSTABLE")
            return True
        return code == 0


def parse_shell(el: ET.Element, job: str) -> Shell:
    """Fields: ``command`` (CommandInterpreter.java:63), ``unstableReturn`` (0 = none,
    Shell.java:81, 122-135); ``configuredLocalRules`` only filters environment variables."""
    unstable = integer(el, "unstableReturn", None, job, "builders/hudson.tasks.Shell")
    return Shell(command=text(el, "command") or "", unstable_return=unstable or None)


def run_process(ctx: Any, argv: list[str]) -> int:
    """Run ``argv`` in the workspace, its output into the console, until it exits or the
    build's timeout fires (then its process group is killed and the build interrupted)."""
    ctx.workspace.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.Popen(argv, cwd=ctx.workspace, env=ctx.step_env(),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        ctx.console.error(f"command execution failed: {exc}")
        return -1
    ctx.process_groups.append(proc.pid)
    assert proc.stdout is not None
    stdout = proc.stdout

    def pump() -> None:
        for raw in iter(stdout.readline, b""):
            ctx.console.write(raw.decode("utf-8", "replace"))

    reader = threading.Thread(target=pump, name=f"console-{ctx.job}", daemon=True)
    reader.start()
    try:
        while True:
            remaining = None if ctx.deadline is None else ctx.deadline - time.monotonic()
            try:
                code = proc.wait(timeout=None if remaining is None else max(remaining, 0.0))
                break
            except subprocess.TimeoutExpired:
                result = ctx.fire_timeout()
                kill_group(proc.pid, proc)
                proc.wait()
                reader.join(timeout=5)
                raise BuildInterrupted(result) from None
    finally:
        if proc.poll() is None:
            kill_group(proc.pid, proc)
            proc.wait()
    # core Proc.java:324-336: wait up to 10 s for the output; a background process that still
    # holds it gets a warning in the system log (here: the runner's log), and the step goes on
    reader.join(timeout=10)
    if reader.is_alive():
        ctx.runner.note(f"{ctx.job} #{ctx.number}: Process leaked file descriptors. See "
                        f"https://www.jenkins.io/redirect/troubleshooting/"
                        f"process-leaked-file-descriptors for more information")
    return code


def kill_group(pgid: int, leader: subprocess.Popen[bytes] | None = None,
               grace: float = 2.0) -> None:
    """SIGTERM to the process group, SIGKILL to what is left after ``grace`` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if leader is not None:
            leader.poll()  # reap the leader, or its zombie keeps the group alive
        if not _group_alive(pgid):
            return
        time.sleep(0.02)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    """Does a process of the group still run? Zombies do not count: orphans are reparented to
    PID 1, which in some containers never reaps them."""
    proc = "/proc"
    if not os.path.isdir(proc):
        try:
            os.killpg(pgid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc}/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after "(comm)": state, ppid, pgrp, … (proc(5))
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False
