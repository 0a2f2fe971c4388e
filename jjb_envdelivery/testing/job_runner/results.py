"""``hudson.model.Result``: the five results, ordered from best to worst (core Result.java:55-64)."""

from __future__ import annotations

ORDINALS = {"SUCCESS": 0, "UNSTABLE": 1, "FAILURE": 2, "NOT_BUILT": 3, "ABORTED": 4}
BY_ORDINAL = {v: k for k, v in ORDINALS.items()}


def worse(a: str | None, b: str | None) -> str | None:
    """``Result.combine``: the worse of two results (None = not set yet)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if ORDINALS[a] >= ORDINALS[b] else b


def at_least(result: str | None, threshold: str) -> bool:
    """``result.isBetterOrEqualTo(threshold)``; an unfinished build (None) never is."""
    return result is not None and ORDINALS[result] <= ORDINALS[threshold]


def threshold_from_xml(ordinal: str | None) -> str:
    """``Result.readResolve`` keys on ``ordinal`` only: a missing one reads 0 (SUCCESS), an
    unknown one gives FAILURE (core Result.java:187-192)."""
    try:
        number = int((ordinal or "0").strip() or "0")
    except ValueError:
        return "FAILURE"
    return BY_ORDINAL.get(number, "FAILURE")
