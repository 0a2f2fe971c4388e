"""Which scope owns a Jenkins item: a mark in its description.

The mark goes right before JJB's own "Managed by Jenkins Job Builder" marker, which JJB
requires to stay last (its --delete-old checks that the description ends with it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jenkins_jobs.constants import MAGIC_MANAGE_STRING as JJB_MARKER

# Only items the root scope owns may say which scope a child updater manages.
from .model.organisation import ROOT_SCOPE  # noqa: F401 - re-exported for jjb.stage

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


def carries_mark(text: str | None, manages_allowed: bool = False) -> bool:
    """Whether YAML-supplied text already holds a mark (a spoofing attempt): an owner mark, or a
    manages mark unless `manages_allowed` (the root scope's generated YAML, whose child updaters
    carry one)."""
    if not text:
        return False
    return MARK_PREFIX.strip() in text or (not manages_allowed and MANAGES_PREFIX.strip() in text)


# -- which scope a child updater manages ------------------------------------------------------
# The root scope marks each child updater with the scope it runs and that scope's namespace (and,
# for a renamed project, the scope whose items it adopts). Only a root-owned item's mark counts:
# when such an item goes stale, the scope it names left the org file and its items are deleted.

MANAGES_PREFIX = "<!-- jjb-envdelivery manages: "
_MANAGES = re.compile(r"<!-- jjb-envdelivery manages: ([A-Za-z0-9._-]+) (folder|prefix):([A-Za-z0-9._-]+)"
                      r"(?: from: ([A-Za-z0-9._-]+))? -->")


@dataclass(frozen=True)
class Managed:
    """What a manages mark says: the scope, its namespace ("folder:NAME" or "prefix:NAME-"), and
    the scope it adopts items from after a rename (None)."""

    scope: str
    namespace: str
    adopts: str | None = None


def manages_mark(scope: str, namespace: str, adopts: str | None = None) -> str:
    """The mark naming the scope a child updater manages; `namespace` as ``str(Namespace)``."""
    kind, _, value = str(namespace).partition(":")
    tail = f" from: {adopts}" if adopts else ""
    return f"{MANAGES_PREFIX}{scope} {kind}:{value}{tail} -->"


def managed_by(description: str | None) -> Managed | None:
    """The last manages mark in `description`, or None."""
    if not description:
        return None
    found = _MANAGES.findall(description)
    if not found:
        return None
    scope, kind, value, adopts = found[-1]
    return Managed(scope, f"{kind}:{value}", adopts or None)
