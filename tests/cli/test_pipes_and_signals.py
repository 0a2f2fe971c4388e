"""The CLI as a Jenkins build step: SIGTERM (Jenkins's abort) unwinds it so cleanup runs, and
the caller's own SIGTERM handler is back afterwards. (The pipeline case, `env list | head -1`,
is in tests/environments/test_cli_pipe.py, where the workspaces are.)"""

from __future__ import annotations

import os
import signal
import time

from jjb_envdelivery.cli import env as env_command
from jjb_envdelivery.cli import main as cli_main


def test_sigterm_unwinds_through_cleanup(monkeypatch, capsys):
    cleaned = []

    def long_step(_args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the signal arrives during this wait and raises inside it
            return 0
        finally:
            cleaned.append(True)

    monkeypatch.setattr(env_command, "run_list", long_step)
    before = signal.getsignal(signal.SIGTERM)
    assert cli_main.main(["env", "list"]) == 143
    assert cleaned == [True]
    assert "terminated (SIGTERM)" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before  # restored for the program that called main()
