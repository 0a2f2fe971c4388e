"""`jjb-envdelivery env list | head -1`: the reader goes away and the CLI ends quietly, with the
status of a process killed by SIGPIPE, as coreutils do; never a BrokenPipeError traceback."""

from __future__ import annotations

import os
import signal
import subprocess


def test_env_list_into_a_closed_pipe(workspace, job_env):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written
    try:
        done = subprocess.run(["jjb-envdelivery", "env", "list"], cwd=workspace, env=job_env, stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    assert done.returncode == 128 + signal.SIGPIPE
