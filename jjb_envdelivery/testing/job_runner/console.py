"""A build's console log: written line by line to ``home/jobs/<job>/builds/<n>/log``.

Secret values bound by credentials-binding are masked as ``****`` in every line written after
they are bound (cb masking/SecretPatterns.java:62-75, 99-110: longest first, forms shorter
than 3 characters are left alone). Besides the value itself, the form ``sh -x`` prints for a
value it has to quote (``'…'``) is masked, so a traced command never shows it.
``TimestamperBuildWrapper`` adds nothing to ``consoleText``: timestamps are kept beside the
log, not in it.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

MINIMUM_MASKED_LENGTH = 3  # SecretPatterns.MINIMUM_ENCODED_LENGTH


class Console:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8", errors="replace")
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def mask(self, values: list[str]) -> None:
        for value in values:
            if not value:
                continue
            self._secrets.add(value)
            self._secrets.add("'" + value.replace("'", "'\\''") + "'")  # sh -x quoting
        forms = sorted((s for s in self._secrets if len(s) >= MINIMUM_MASKED_LENGTH),
                       key=lambda s: (-len(s), s))
        self._pattern = re.compile("|".join(map(re.escape, forms))) if forms else None

    def line(self, text: str = "") -> None:
        self.write(text + "\n")

    def write(self, text: str) -> None:
        if self._pattern is not None:
            text = self._pattern.sub("****", text)
        with self._lock:
            self._file.write(text)
            self._file.flush()

    def error(self, message: str) -> None:
        """``TaskListener.error``: ``ERROR: `` before the message."""
        self.line("ERROR: " + message)

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8", errors="replace")
