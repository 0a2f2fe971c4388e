"""Copying directory trees copy-on-write where the file system can (reflink), by copying otherwise.

``FICLONE`` shares the blocks of a file (btrfs, XFS with reflink, ZFS, bcachefs); a later write
to either copy stays private to it. ext4 and tmpfs answer EOPNOTSUPP/EINVAL, and different file
systems EXDEV: then the file is copied. Hard links are never used: a write through the
environment would change the template.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

FICLONE = 0x40049409
NO_REFLINK = {errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.ENOSYS, errno.EPERM}


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
                if exc.errno not in NO_REFLINK or mode == "reflink":
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
    for root, dirs, files in os.walk(src):
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
            if s.is_symlink():
                os.symlink(os.readlink(s), d)
                continue
            if not s.is_file():
                continue  # sockets, fifos: not part of a snapshot
            clone_file(s, d, mode, stats)
            if writable is False:
                d.chmod(d.stat().st_mode & ~0o222)
            elif writable:
                d.chmod(d.stat().st_mode | 0o200)
            if fsync:
                _fsync_path(d)
    if fsync:
        for root, _dirs, _ in os.walk(dst, topdown=False):
            _fsync_path(Path(root), directory=True)
    return stats


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
