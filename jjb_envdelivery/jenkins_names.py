"""Jenkins item names, resolved and matched exactly as Jenkins core and the plugins do it.

One implementation for the graph checks and for the test instruments (the REST emulator's job
runner), each rule cited to the source read (see ``shared/reference/jenkins-plugin-semantics.md``
for the snapshots: jenkinsci/jenkins @ ff9430ee, copyartifact-plugin @ 93781725):

- ``ItemIndex.resolve``: ``Jenkins.getItem(String path, ItemGroup context)``
  (core Jenkins.java:3050-3092): a leading ``/`` is absolute; otherwise a walk from the context
  (``..`` = parent, ``.`` skipped), falling back to the full name; lookups ignore case
  (Jenkins.java:489, AbstractFolder.java:198).
- ``split_names``: ``Items.fromNameList`` (core Items.java:263-278): comma-separated, trimmed,
  blanks dropped; no wildcards.
- ``relative_name_from``: ``Functions.getRelativeNameFrom(item, group)`` (core Functions.java:1457-1494).
- ``copy_name_match`` / ``copy_permitted``: copyartifact's ``CopyArtifactPermissionProperty``
  ``isNameMatch`` and ``canCopiedBy`` (CopyArtifactPermissionProperty.java:99-133).

Pure functions of names; imports nothing else of the package.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence


def split_names(value: str | None) -> list[str]:
    """``Items.fromNameList``'s split: a comma list, each name trimmed, blanks dropped."""
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def parent_of(full_name: str) -> str:
    """The full name of the item group holding ``full_name`` ('' = the root)."""
    return full_name.rpartition("/")[0]


def relative_name_from(full_name: str, group: str) -> str:
    """``Functions.getRelativeNameFrom(item, group)``: the item's name seen from ``group`` (a
    folder's full name, '' for the root): ``..`` once for each level ``group`` lies below the
    nearest common ancestor, then the item's path below it."""
    item = [t for t in full_name.split("/") if t]
    ancestors = [t for t in group.split("/") if t]
    common = 0
    # Only item groups can be common ancestors, so the item's own name never counts.
    while common < min(len(ancestors), len(item) - 1) and ancestors[common] == item[common]:
        common += 1
    return "/".join([".."] * (len(ancestors) - common) + item[common:])


def copy_name_match(name: str | None, pattern: str | None) -> bool:
    """``CopyArtifactPermissionProperty.isNameMatch``: without ``*`` an exact, case-sensitive
    match; with ``*``, each ``*`` is ``.*`` (it crosses ``/``) and the whole name must match."""
    if name is None or pattern is None:
        return False
    if "*" not in pattern:
        return pattern == name
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), name) is not None


def copy_permitted(allowed: Sequence[str], copier: str, owner: str) -> bool:
    """``CopyArtifactPermissionProperty.canCopiedBy``: may job ``copier`` (full name) copy the
    artifacts of job ``owner``, whose property lists ``allowed``? The copier is matched by its
    name relative to the owner's folder and by ``/`` + its full name, never by its bare full name."""
    relative = relative_name_from(copier, parent_of(owner))
    absolute = "/" + copier
    return any(copy_name_match(relative, p) or copy_name_match(absolute, p) for p in allowed)


class ItemIndex:
    """Item names as Jenkins looks them up: without case, through folders."""

    def __init__(self, items: Iterable[tuple[str, bool]]):
        self.items: dict[str, tuple[str, bool]] = {}
        for name, is_group in items:
            self.items.setdefault(name.lower(), (name, is_group))
        # A folder no scope generates still holds its jobs on the server.
        for name, _ in list(self.items.values()):
            parts = name.split("/")
            for end in range(1, len(parts)):
                self.items.setdefault("/".join(parts[:end]).lower(), ("/".join(parts[:end]), True))

    def full(self, name: str) -> tuple[str, bool] | None:
        """``Jenkins.getItemByFullName``."""
        return self.items.get("/".join(t for t in name.split("/") if t).lower())

    def resolve(self, name: str, job: str) -> tuple[tuple[str, bool] | None, tuple[str, ...]]:
        """``Items.getItem(name, job.getParent())``: the item found (if any) and the full names
        looked up, for messages."""
        context = job.split("/")[:-1]
        full_name = "/".join(t for t in name.split("/") if t)
        if name.startswith("/"):
            return self.full(name), (full_name,)
        tried = tuple(dict.fromkeys(c for c in (_lexical(context, name), full_name) if c))
        ctx: list[str] | None = list(context)
        for token in (t for t in name.split("/") if t):
            if token == "..":
                if ctx:  # a folder is an Item: go to its parent
                    ctx = ctx[:-1]
                    continue
                ctx = None  # above the root
                break
            if token == ".":
                continue
            if ctx and not self.items[("/".join(ctx)).lower()][1]:
                return None, tried  # a job holds no items; Jenkins gives up without a fallback
            child = ctx + [token]
            if "/".join(child).lower() not in self.items:
                ctx = None
                break
            ctx = child
        if ctx:
            return self.items["/".join(ctx).lower()], tried
        return self.full(name), tried


def _lexical(context: list[str], name: str) -> str | None:
    parts = list(context)
    for token in (t for t in name.split("/") if t):
        if token == "..":
            if not parts:
                return None
            parts.pop()
        elif token != ".":
            parts.append(token)
    return "/".join(parts) or None


