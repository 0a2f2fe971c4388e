"""Copying directory trees copy-on-write where the file system can (reflink), by copying otherwise.

``FICLONE`` shares the blocks of a file (btrfs, XFS with reflink, ZFS, bcachefs); a later write
to either copy stays private to it. ext4 and tmpfs answer EOPNOTSUPP/EINVAL, and different file
systems EXDEV: then the file is copied. Hard links are never used: a write through the
environment would change the template.

A copy fails on any error (a source file or directory that vanishes mid-copy included): a partial
copy must never pass for a complete one. ``manifest`` describes a tree (paths, sizes, link targets)
so that a copy can be checked against what was saved.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

FICLONE = 0x40049409
NO_REFLINK = {errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.ENOSYS, errno.EPERM}


class NoReflink(OSError):
    """``clone: reflink`` on a file system that cannot share blocks between files."""


@dataclass
class CloneStats:
    cloned: int = 0  # files that share blocks with their source
    copied: int = 0  # files copied byte by byte
    bytes: int = 0

    def __str__(self) -> str:
        return f"{self.cloned} file(s) reflinked, {self.copied} copied, {self.bytes} bytes"


def clone_file(src: Path, dst: Path, mode: str, stats: CloneStats) -> None:
    """mode: ``auto`` (reflink, else copy), ``reflink`` (reflink or fail), ``copy``."""
    if mode != "copy":
        with open(src, "rb") as s, open(dst, "wb") as d:
            try:
                fcntl.ioctl(d.fileno(), FICLONE, s.fileno())
                stats.cloned += 1
                stats.bytes += os.fstat(s.fileno()).st_size
                shutil.copystat(src, dst)
                return
            except OSError as exc:
                if exc.errno in NO_REFLINK and mode == "reflink":
                    raise NoReflink(exc.errno, f"no copy-on-write clones for {dst}") from None
                if exc.errno not in NO_REFLINK:
                    raise
    shutil.copyfile(src, dst)
    shutil.copystat(src, dst)
    stats.copied += 1
    stats.bytes += dst.stat().st_size


def clone_tree(src: Path, dst: Path, mode: str = "auto", fsync: bool = False,
               writable: bool | None = None) -> CloneStats:
    """Copy ``src`` to the new directory ``dst``. ``fsync`` flushes every file and directory, so a
    rename after it publishes a complete tree. ``writable`` False strips write bits from files
    (read-only snapshots), True adds the owner's write bit back (a fresh environment)."""
    stats = CloneStats()
    dst.mkdir(parents=False)
    for root, dirs, files in os.walk(src, onerror=_raise):
        rel = Path(root).relative_to(src)
        target_root = dst / rel
        for name in dirs:
            s = Path(root) / name
            if s.is_symlink():
                os.symlink(os.readlink(s), target_root / name)
            else:
                (target_root / name).mkdir()
        dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]
        for name in files:
            s, d = Path(root) / name, target_root / name
            # lstat, not is_file(): a file removed since the listing must fail the copy, not vanish from it.
            kind = os.lstat(s).st_mode
            if stat.S_ISLNK(kind):
                os.symlink(os.readlink(s), d)
                continue
            if not stat.S_ISREG(kind):
                continue  # sockets, fifos: not part of a snapshot
            clone_file(s, d, mode, stats)
            if writable is False:
                d.chmod(d.stat().st_mode & ~0o222)
            elif writable:
                d.chmod(d.stat().st_mode | 0o200)
            if fsync:
                _fsync_path(d)
    if fsync:
        for root, _dirs, _ in os.walk(dst, topdown=False, onerror=_raise):
            _fsync_path(Path(root), directory=True)
    return stats


def _raise(error: OSError) -> None:
    raise error  # os.walk skips unreadable or vanished directories unless told otherwise


def manifest(root: Path) -> dict:
    """``{"entries": {relative path: size | "dir" | {"symlink": target}}, "files": count}`` of the
    regular files, directories and symlinks under ``root`` (what ``clone_tree`` copies)."""
    entries: dict = {}
    for current, dirs, files in os.walk(root, onerror=_raise):
        for name in dirs + files:
            path = Path(current) / name
            info = os.lstat(path)
            rel = path.relative_to(root).as_posix()
            if stat.S_ISLNK(info.st_mode):
                entries[rel] = {"symlink": os.readlink(path)}
            elif stat.S_ISDIR(info.st_mode):
                entries[rel] = "dir"
            elif stat.S_ISREG(info.st_mode):
                entries[rel] = info.st_size
        dirs[:] = [d for d in dirs if not (Path(current) / d).is_symlink()]
    return {"entries": entries, "files": sum(1 for v in entries.values() if isinstance(v, int))}


def manifest_difference(expected: dict, actual: dict) -> str | None:
    """None when the two manifests agree; else the first difference, for a one-line error."""
    want, got = expected.get("entries", {}), actual.get("entries", {})
    for path in sorted(set(want) | set(got)):
        if path not in got:
            return f"{path} is missing"
        if path not in want:
            return f"{path} is not in the template"
        if want[path] != got[path]:
            return f"{path} is {got[path]!r}, the template has {want[path]!r}"
    if expected.get("files") != actual.get("files"):
        return f"{actual.get('files')} file(s), the template has {expected.get('files')}"
    return None


def _fsync_path(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    _fsync_path(path, directory=True)


def remove_tree(path: Path) -> None:
    """rm -rf; snapshots strip write bits from files only, so their directories stay removable."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
