"""Progress of a long update: one rewritten line on a terminal, plain lines in CI logs.

It counts writes: items created or changed and items deleted alike ("written", not "pushed").
"""

from __future__ import annotations

import sys
import threading
import time


class Progress:
    def __init__(self, total: int, stream=None, label: str = "written", every: float = 0.1):
        self.total, self.label = total, label
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = self.failed = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()
        # CI logs get a line at every `every` of the way (10% by default), not one per job.
        self._step = max(1, int(total * every))
        self._next_line = self._step

    def advance(self, ok: bool) -> None:
        with self._lock:
            self.done += 1
            self.failed += 0 if ok else 1
            if self.tty:
                self._write("\r" + self._line())
            elif self.done >= self._next_line or self.done == self.total:
                self._next_line += self._step
                self._write(self._line() + "\n")

    def finish(self) -> None:
        if self.tty and self.total:
            self._write("\n")

    def _line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return (f"[{self.done:>{len(str(self.total))}}/{self.total}] {self.label}, "
                f"{self.done / elapsed:.1f}/s, {self.failed} failed")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
