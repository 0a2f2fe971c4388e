"""Progress output: one rewritten line on a terminal, a few plain lines in CI logs."""

from __future__ import annotations

import io
import re

from jjb_envdelivery.push.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_ci_log_gets_a_line_every_tenth():
    log = io.StringIO()
    progress = Progress(100, log)
    for index in range(100):
        progress.advance(ok=index % 50 != 0)
    progress.finish()
    lines = log.getvalue().splitlines()
    assert len(lines) == 10
    assert re.fullmatch(r"\[ 10/100\] written, [\d.]+/s, 1 failed", lines[0])
    assert re.fullmatch(r"\[100/100\] written, [\d.]+/s, 2 failed", lines[-1])
    assert "\r" not in log.getvalue()


def test_terminal_line_is_rewritten():
    screen = Terminal()
    progress = Progress(3, screen)
    for _ in range(3):
        progress.advance(ok=True)
    progress.finish()
    text = screen.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n")
    assert text.rstrip().split("\r")[-1].startswith("[3/3] written")


def test_small_runs_still_report_the_end():
    log = io.StringIO()
    progress = Progress(3, log)
    for _ in range(3):
        progress.advance(ok=True)
    assert log.getvalue().splitlines()[-1].startswith("[3/3]")
