"""Which scope owns a Jenkins item: a mark in its description.

The mark goes right before JJB's own "Managed by Jenkins Job Builder" marker, which JJB
requires to stay last (its --delete-old checks that the description ends with it).
"""

from __future__ import annotations

import re

from jenkins_jobs.constants import MAGIC_MANAGE_STRING as JJB_MARKER

MARK_PREFIX = "<!-- jjb-envdelivery owner: "
_MARK = re.compile(r"<!-- jjb-envdelivery owner: ([A-Za-z0-9._-]+) -->")


def mark(scope: str) -> str:
    return f"{MARK_PREFIX}{scope} -->"


def with_mark(description: str | None, scope: str) -> str:
    """`description` with the owner mark, placed before JJB's marker when it is there."""
    text = description or ""
    if text.endswith(JJB_MARKER):
        return f"{text[:-len(JJB_MARKER)]}{mark(scope)}{JJB_MARKER}"
    return f"{text}{mark(scope)}"


def owner_of(description: str | None) -> str | None:
    """The owning scope named by the last mark in `description`, or None when unmarked."""
    if not description:
        return None
    found = _MARK.findall(description)
    return found[-1] if found else None


def carries_mark(text: str | None) -> bool:
    """Whether YAML-supplied text already holds a mark (a spoofing attempt)."""
    return bool(text) and MARK_PREFIX.strip() in text
