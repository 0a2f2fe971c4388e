"""Jenkins item names, resolved and matched exactly as Jenkins core and the plugins do it.

One implementation for the graph checks and for the test instruments (the REST emulator's job
runner), each rule cited to the source read (see ``shared/reference/jenkins-plugin-semantics.md``
for the snapshots: jenkinsci/jenkins @ ff9430ee, copyartifact-plugin @ 93781725):

- ``ItemIndex.lookup`` / ``ItemIndex.resolve``: ``Jenkins.getItem(String path, ItemGroup context)``
  (core Jenkins.java:3050-3092): a leading ``/`` is absolute; otherwise a walk from the context
  (``..`` = parent, ``.`` skipped), falling back to the full name (``Lookup.by_fallback``);
  lookups ignore case (Jenkins.java:489, AbstractFolder.java:198).
- ``ItemIndex.view_member``: a ListView's ``jobNames`` (core ListView.java:218-258): a direct
  child's name, or with ``recurse`` a descendant's name relative to the view's group; no ``..``,
  no leading ``/``, no fallback; without case.
- ``check_good_name`` / ``check_full_name``: ``Jenkins.checkGoodName`` (core Jenkins.java:4268-4293)
  and the trim ``ItemGroupMixIn.createTopLevelItem`` applies after it (ItemGroupMixIn.java:167-168).
- ``split_names``: ``Items.fromNameList`` (core Items.java:263-278): comma-separated, trimmed,
  blanks dropped; no wildcards.
- ``relative_name_from``: ``Functions.getRelativeNameFrom(item, group)`` (core Functions.java:1457-1494).
- ``canonical_name`` / ``names_after_renaming``: ``Items.getCanonicalName`` and
  ``Items.computeRelativeNamesAfterRenaming`` (core Items.java:285-349), how a rename or move in the
  UI rewrites the job names stored in triggers and copy steps.
- ``copy_name_match`` / ``copy_permitted``: copyartifact's ``CopyArtifactPermissionProperty``
  ``isNameMatch`` and ``canCopiedBy`` (CopyArtifactPermissionProperty.java:99-133).

Pure functions of names; imports nothing else of the package.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Jenkins.checkGoodName's unsafe characters (Jenkins.java:4281).
UNSAFE_CHARACTERS = "?*/\\%!@#$^&|<>[]:;"


def java_trim(name: str) -> str:
    """Java's ``String.trim()``: strips every character up to U+0020 (not Python's Unicode
    whitespace: a no-break space stays)."""
    start, end = 0, len(name)
    while start < end and name[start] <= " ":
        start += 1
    while end > start and name[end - 1] <= " ":
        end -= 1
    return name[start:end]


def _is_iso_control(char: str) -> bool:
    """Java's ``Character.isISOControl``: U+0000-U+001F and U+007F-U+009F."""
    return char <= "\x1f" or "\x7f" <= char <= "\x9f"


def check_good_name(name: str | None) -> str:
    """``Jenkins.checkGoodName(name)`` (core Jenkins.java:4268-4293), in its order, raising
    ValueError with Jenkins's message; returns the name trimmed as ``createTopLevelItem`` then
    stores it (ItemGroupMixIn.java:167-168). Messages: hudson/model/Messages.properties:131-143,408."""
    if not name:
        raise ValueError("No name is specified")
    if java_trim(name) in (".", ".."):
        raise ValueError(f"“{java_trim(name)}” is not an allowed name")
    for char in name:  # control codes and unsafe characters, whichever comes first
        if _is_iso_control(char):
            shown = "".join(f"\\u{ord(c)};" if _is_iso_control(c) else c for c in name)
            raise ValueError(f"No control code is allowed: {shown}")
        if char in UNSAFE_CHARACTERS:
            raise ValueError(f"‘{char}’ is an unsafe character")
    # SECURITY-2424, on unless jenkins.model.Jenkins.nameValidationRejectsTrailingDot=false
    if java_trim(name).endswith("."):
        raise ValueError("A name cannot end with ‘.’")
    return java_trim(name)


def check_full_name(full_name: str) -> None:
    """A full item name as JJB creates it, one item per ``/`` segment: each segment must be a
    good name that Jenkins keeps as it is. ValueError naming the segment otherwise: an empty
    segment (a leading, trailing or doubled ``/``), or one Jenkins refuses, or one it would
    trim into another name (a job ``a /b`` would be created in a folder ``a``)."""
    for segment in full_name.split("/"):
        if not segment:
            raise ValueError("empty path segment (a leading, trailing or doubled '/')")
        try:
            trimmed = check_good_name(segment)
        except ValueError as exc:
            raise ValueError(f"segment {segment!r}: {exc}") from None
        if trimmed != segment:
            raise ValueError(f"segment {segment!r} starts or ends with whitespace, "
                             f"which Jenkins trims off (it would be {trimmed!r})")


def same_name_key(full_name: str) -> str:
    """The key under which Jenkins finds an item: names ignore case (Jenkins.java:489,
    AbstractFolder.java:198: ``String.CASE_INSENSITIVE_ORDER``)."""
    return full_name.lower()


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


def canonical_name(context: str, path: str) -> str:
    """``Items.getCanonicalName(context, path)`` (core Items.java:285-315): the full name a stored
    name means to the rename listeners, read from the item group ``context`` ('' = the root) by
    its letters alone: a leading ``/`` drops the context, ``..`` goes up, ``.`` is skipped. No
    lookup and no fallback to the full name, so from folder ``team`` the name ``team/job`` means
    ``team/team/job``."""
    def tokens(name: str) -> list[str]:
        parts = name.split("/")
        while parts and not parts[-1]:  # String.split drops trailing empty strings
            parts.pop()
        return parts

    name = [t for i, t in enumerate(tokens(context)) if i or t]
    for i, token in enumerate(tokens(path)):
        if i == 0 and not token:  # absolute
            name.clear()
        elif token == "..":
            if not name:
                raise ValueError(f"Illegal relative path {path!r} within context {context!r}")
            name.pop()
        elif token != ".":
            name.append(token)
    return "/".join(name)


def names_after_renaming(old_full_name: str, new_full_name: str, names: str, context: str) -> str:
    """``Items.computeRelativeNamesAfterRenaming`` (core Items.java:330-349): what a rename or move
    of ``old_full_name`` to ``new_full_name`` makes of the comma list ``names`` stored in a job of
    item group ``context``. ReverseBuildTrigger's ``upstreamProjects`` (ReverseBuildTrigger.java:
    305-330, on every rename or move) and copyartifact's ``project`` (CopyArtifact.java:907-944, on
    renames) are rewritten with it. A name is rewritten only when its canonical name
    (``canonical_name``) is the moved item or lies below it; an absolute one stays absolute, a
    relative one becomes the new name relative to ``context``."""
    revised = []
    for name in (token.strip() for token in names.split(",") if token):  # StringTokenizer
        canonical = canonical_name(context, name)
        if canonical == old_full_name or canonical.startswith(old_full_name + "/"):
            moved = new_full_name + canonical[len(old_full_name):]
            # Items.getRelativeNameFrom differs from Functions' only for an ancestor of the group.
            revised.append("/" + moved if name.startswith("/") else relative_name_from(moved, context))
        else:
            revised.append(name)
    return ",".join(revised)


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


@dataclass(frozen=True)
class Lookup:
    """What ``Jenkins.getItem(path, context)`` finds, and how."""

    item: tuple[str, bool] | None  # (full name as generated, holds items?), None: nothing
    tried: tuple[str, ...]  # the full names looked up, in Jenkins's order, for messages
    # Found only by the "classic interpretation" fallback to the full name (Jenkins.java:3090-3091):
    # the relative walk found nothing, so a rename in the UI does not rewrite the reference.
    by_fallback: bool = False


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
        found = self.lookup(name, parent_of(job))
        return found.item, found.tried

    def lookup(self, name: str, context: str) -> Lookup:
        """``Jenkins.getItem(name, context)`` from the item group ``context`` (a folder's full
        name, '' for the root), as Jenkins.java:3050-3092 walks it."""
        tokens = [t for t in name.split("/") if t]  # StringTokenizer skips empty tokens
        full_name = "/".join(tokens)
        if name.startswith("/"):
            return Lookup(self.full(name), (full_name,))
        group = [t for t in context.split("/") if t]
        tried = tuple(dict.fromkeys(c for c in (_lexical(group, name), full_name) if c))
        ctx: list[str] | None = group
        for token in tokens:
            if token == "..":
                if ctx:  # a folder is an Item: go to its parent
                    ctx = ctx[:-1]
                    continue
                ctx = None  # above the root
                break
            if token == ".":
                continue
            if ctx and not self.items.get("/".join(ctx).lower(), ("", True))[1]:
                return Lookup(None, tried)  # a job holds no items; Jenkins gives up without a fallback
            child = ctx + [token]
            if "/".join(child).lower() not in self.items:
                ctx = None
                break
            ctx = child
        if ctx and "/".join(ctx).lower() in self.items:
            return Lookup(self.items["/".join(ctx).lower()], tried)
        found = self.full(name)
        return Lookup(found, tried, by_fallback=found is not None)

    def view_member(self, name: str, group: str, recurse: bool) -> tuple[str, bool] | None:
        """The item a ListView owned by ``group`` shows for the entry ``name`` of its ``jobNames``
        (ListView.java:218-258): without ``recurse`` the group's child called ``name``
        (``ItemGroup.getItem``); with it, any item below the group whose name relative to the
        group is ``name`` (``getRelativeNameFrom``). Case is ignored (the set's comparator)."""
        tokens = name.split("/")
        if any(t in ("", ".", "..") for t in tokens) or (len(tokens) > 1 and not recurse):
            return None
        below = f"{group}/{name}" if group else name
        return self.items.get(below.lower())


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


