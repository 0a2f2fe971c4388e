"""Seeded, reproducible fault injection for the Jenkins REST emulator.

A ``Fault`` matches requests by a glob on ``"METHOD /path"`` (query excluded) and fires with
probability ``rate``. Kinds:

* ``500``/``502``/``503`` (any status): answer that status instead of handling the request;
* ``reset``: close the connection with a TCP RST and send nothing;
* ``latency``: wait ``seconds`` and then handle the request normally;
* ``stall``: send nothing for ``seconds`` (bounded by ``MAX_SECONDS``), then close;
* ``lost``: handle the request normally (state changes, persisted, logged with its ``write``
  flag), then close the connection with a TCP RST instead of sending the response: a response
  lost on the way back (a proxy timing out, a dropped connection), so the client cannot tell a
  write that happened from one that did not. A client retrying a non-idempotent POST then meets
  its own earlier write (``createItem`` answers 400 "already exists", ``doDelete`` 404).

Decisions come from one ``random.Random(seed)`` drawn under a lock once per matching rule, so
the same sequence of requests with the same seed gets the same faults. ``limit`` caps how often
a rule fires (e.g. "fail the first two createItem calls, then succeed").

Text form (``--fault``): ``KIND:RATE[:SECONDS][:xLIMIT][@PATTERN]``, e.g. ``503:0.2@POST *``,
``reset:1:x1@POST */createItem``, ``latency:1:0.2``, ``stall:0.1:5@GET /api/json``,
``lost:1:x1@POST */doDelete``.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass

MAX_SECONDS = 600.0
KINDS = ("reset", "latency", "stall", "lost")


@dataclass
class Fault:
    kind: str  # "500", "502", "503", any other 3-digit status, "reset", "latency", "stall", "lost"
    rate: float = 1.0
    pattern: str = "*"  # fnmatch glob on "METHOD /path"
    seconds: float = 0.0  # latency / stall duration
    limit: int | None = None  # fire at most this many times
    fired: int = 0

    def __post_init__(self) -> None:
        self.kind = str(self.kind)
        if self.kind not in KINDS and not (self.kind.isdigit() and len(self.kind) == 3):
            raise ValueError(f"unknown fault kind {self.kind!r}: use a status, {', '.join(KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate {self.rate} is not within 0..1")
        if not 0.0 <= self.seconds <= MAX_SECONDS:
            raise ValueError(f"fault seconds {self.seconds} is not within 0..{MAX_SECONDS}")
        if self.kind == "stall" and not self.seconds:
            self.seconds = 30.0
        if " " not in self.pattern and self.pattern != "*":
            self.pattern = f"* {self.pattern}"  # a bare path pattern matches any method

    @property
    def status(self) -> int | None:
        return int(self.kind) if self.kind.isdigit() else None

    def matches(self, method: str, path: str) -> bool:
        return fnmatch.fnmatchcase(f"{method} {path}", self.pattern)

    @classmethod
    def parse(cls, text: str) -> Fault:
        spec, _, pattern = text.partition("@")
        parts = spec.split(":")
        if len(parts) < 2:
            raise ValueError(f"fault {text!r}: expected KIND:RATE[:SECONDS][:xLIMIT][@PATTERN]")
        kwargs: dict = {"kind": parts[0], "rate": float(parts[1])}
        for extra in parts[2:]:
            if extra.startswith("x"):
                kwargs["limit"] = int(extra[1:])
            else:
                kwargs["seconds"] = float(extra)
        if pattern:
            kwargs["pattern"] = pattern.strip()
        return cls(**kwargs)


@dataclass(frozen=True)
class Decision:
    """What to do to one request: delay, then maybe fail."""

    delay: float = 0.0
    action: str | None = None  # None, "status", "reset", "stall", "lost"
    status: int | None = None
    seconds: float = 0.0

    @property
    def label(self) -> str | None:
        parts = []
        if self.delay:
            parts.append(f"latency {self.delay:g}s")
        if self.action == "status":
            parts.append(str(self.status))
        elif self.action:
            parts.append(self.action)
        return ", ".join(parts) or None


class FaultPlan:
    def __init__(self, faults: list[Fault] | None = None, seed: int = 0) -> None:
        self.faults = list(faults or [])
        self.seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def decide(self, method: str, path: str) -> Decision:
        delay, chosen = 0.0, None
        with self._lock:
            for fault in self.faults:
                if not fault.matches(method, path):
                    continue
                if fault.limit is not None and fault.fired >= fault.limit:
                    continue
                if self._rng.random() >= fault.rate:
                    continue
                if fault.kind == "latency":
                    fault.fired += 1
                    delay += fault.seconds
                elif chosen is None:  # the first failing rule wins
                    fault.fired += 1
                    chosen = fault
        if chosen is None:
            return Decision(delay=delay)
        if chosen.status is not None:
            return Decision(delay, "status", chosen.status)
        return Decision(delay, chosen.kind, seconds=chosen.seconds)
