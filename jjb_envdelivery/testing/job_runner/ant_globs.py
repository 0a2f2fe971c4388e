"""Ant file sets, as Jenkins uses them to pick files (``Util.createFileSet``, core Util.java:1251-1271).

Patterns are comma-separated and trimmed; ``**`` matches any number of directories (none
included), ``*`` and ``?`` stay inside one path segment; a pattern ending in ``/`` gets ``**``
appended; a file is selected when it matches an include and no exclude
(apache/ant @ db67f07f: src/main/org/apache/tools/ant/types/selectors/SelectorUtils.java
``matchPath``, DirectoryScanner.java:725-800). Ant's default excludes (DirectoryScanner.java:170-217)
apply unless switched off. Only files are selected, never directories; with ``followSymlinks``
false a symbolic link is neither followed nor selected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

DEFAULT_EXCLUDES = (
    "**/*~", "**/#*#", "**/.#*", "**/%*%", "**/._*",
    "**/CVS", "**/CVS/**", "**/.cvsignore",
    "**/SCCS", "**/SCCS/**",
    "**/vssver.scc",
    "**/.svn", "**/.svn/**",
    "**/.git", "**/.git/**", "**/.gitattributes", "**/.gitignore", "**/.gitmodules",
    "**/.hg", "**/.hg/**", "**/.hgignore", "**/.hgsub", "**/.hgsubstate", "**/.hgtags",
    "**/.bzr", "**/.bzr/**", "**/.bzrignore",
    "**/.DS_Store",
)


def split_patterns(value: str | None) -> list[str]:
    """The comma list of a file-set field, each pattern trimmed, blanks dropped."""
    return [p.strip() for p in (value or "").split(",") if p.strip()]


@lru_cache(maxsize=512)
def _segments(pattern: str, case_sensitive: bool) -> tuple[re.Pattern[str] | None, ...]:
    pattern = pattern.replace("\\", "/")
    if pattern.endswith("/"):
        pattern += "**"
    out: list[re.Pattern[str] | None] = []
    for token in (t for t in pattern.split("/") if t):
        if token == "**":
            out.append(None)
            continue
        regex = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
                        for c in token)
        out.append(re.compile(regex, 0 if case_sensitive else re.IGNORECASE))
    return tuple(out)


def matches(pattern: str, path: str, case_sensitive: bool = True) -> bool:
    """Does the relative ``path`` (``/``-separated) match the Ant ``pattern``?"""
    segments = _segments(pattern, case_sensitive)
    parts = [p for p in path.split("/") if p]

    @lru_cache(maxsize=None)
    def walk(i: int, j: int) -> bool:
        if i == len(segments):
            return j == len(parts)
        segment = segments[i]
        if segment is None:  # ** : zero or more whole segments
            return walk(i + 1, j) or (j < len(parts) and walk(i, j + 1))
        return j < len(parts) and segment.fullmatch(parts[j]) is not None and walk(i + 1, j + 1)

    return walk(0, 0)


def select(paths: Iterable[str], includes: list[str], excludes: list[str],
           default_excludes: bool = True, case_sensitive: bool = True) -> list[str]:
    """The paths a file set with these patterns selects, sorted."""
    all_excludes = list(excludes) + (list(DEFAULT_EXCLUDES) if default_excludes else [])
    return sorted(p for p in paths
                  if any(matches(i, p, case_sensitive) for i in includes)
                  and not any(matches(e, p, case_sensitive) for e in all_excludes))


def scan(root: Path, includes: list[str], excludes: list[str], default_excludes: bool = True,
         case_sensitive: bool = True, follow_symlinks: bool = True) -> list[str]:
    """The files below ``root`` a file set selects, as sorted ``/``-separated relative paths.

    Like Ant's scanner it enters only the directories a pattern can reach (the literal leading
    segments of each include) and skips the version-control directories the default excludes
    drop whole; the selection is the same as testing every file."""
    if not root.is_dir():
        return []
    starts: set[str] = set()
    for include in includes:
        literal: list[str] = []
        for token in (t for t in include.replace("\\", "/").split("/") if t):
            if any(c in token for c in "*?"):
                break
            literal.append(token)
        else:
            literal = literal[:-1]  # the last literal segment names the file itself
        starts.add("/".join(literal) if case_sensitive else "")
    if "" in starts:
        starts = {""}
    found: set[str] = set()
    for start in sorted(starts):
        top = root / start if start else root
        if top.is_dir() and (follow_symlinks or not top.is_symlink()):
            found.update(_walk(root, top, default_excludes, follow_symlinks))
    return select(found, includes, excludes, default_excludes, case_sensitive)


_VCS_DIRS = {"CVS", "SCCS", ".svn", ".git", ".hg", ".bzr"}  # "**/X/**" in DEFAULT_EXCLUDES


def _walk(root: Path, top: Path, default_excludes: bool, follow_symlinks: bool) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=follow_symlinks):
        base = Path(dirpath)
        dirnames[:] = [d for d in dirnames
                       if not (default_excludes and d in _VCS_DIRS)
                       and (follow_symlinks or not (base / d).is_symlink())]
        for name in filenames:
            full = base / name
            if full.is_symlink() and (not follow_symlinks or not full.exists()):
                continue  # not followed, or dangling: no file
            out.append(full.relative_to(root).as_posix())
    return out
