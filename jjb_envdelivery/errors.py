"""Errors the CLI reports to users, each naming where the problem is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class EnvDeliveryError(Exception):
    """An error a user can act on; the CLI prints it without a traceback."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file: where, which field, and what was expected."""

    path: Path
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigError(EnvDeliveryError):
    """An invalid input file (the org file, an environment configuration). Holds every problem
    found, so one run reports them all; `what` names the kind of file in the heading."""

    def __init__(self, problems: list[Problem], what: str = "organisation"):
        self.problems = list(problems)
        self.what = what
        count = len(self.problems)
        heading = "1 problem" if count == 1 else f"{count} problems"
        super().__init__(f"invalid {what} ({heading}):\n" + "\n".join(f"  {p}" for p in self.problems))


def utf8_problem(path: Path) -> str | None:
    """``"<path>: byte N: not UTF-8 (reason)"`` for a file that is not UTF-8, else None. A file
    that cannot be read is left to its reader, which reports that."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        # Decoding the whole file (not a text stream, which decodes in chunks) makes
        # error.start the offset in the file.
        return f"{path}: byte {error.start}: not UTF-8 ({error.reason})"
    return None


def check_utf8(path: Path, what: str) -> None:
    """Refuse a text input that is not UTF-8 with one line naming the file and the first bad
    byte, instead of the UnicodeDecodeError a text read raises. `what` names the kind of file
    ("the org file")."""
    problem = utf8_problem(path)
    if problem:
        raise EnvDeliveryError(f"{problem}; {what} must be UTF-8 text")
