"""What a render produces: each job and view as its printed bytes and the facts push and the
graph need of it (kind, description, where it was defined), known when it was generated."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Callable, Iterable

from jenkins_jobs.xml_config import XmlJob

from ..errors import EnvDeliveryError

# The root element of a job that is a cloudbees-folder Folder (``project-type: folder``).
FOLDER_TAG = "com.cloudbees.hudson.plugins.folder.Folder"


class ItemKind(StrEnum):
    """Jenkins items a scope writes: jobs and folders share one case-insensitive namespace, views another."""

    JOB = "job"
    FOLDER = "folder"
    VIEW = "view"


class RenderedItem(XmlJob):
    """A generated job or view: its name, its ``output()`` bytes, and facts read from its tree.

    The bytes are printed when the item is made and the tree is let go: a render holds every
    item of every scope until it writes, and the bytes take a fraction of the tree's memory.
    ``md5()`` (JJB's) hashes the same bytes. There is no ``xml`` to change afterwards, so code
    that edits a generated tree in place (JJB's ``Builder.fix_disabled``) fails loudly on these
    items instead of being handed stale bytes.
    """

    def __init__(self, xml, name, printer: Callable[[object], bytes] | None = None, is_view: bool = False):
        self.name = name
        self.kind = ItemKind.VIEW if is_view else (ItemKind.FOLDER if xml.tag == FOLDER_TAG else ItemKind.JOB)
        self.description = _as_parsed(xml.findtext("description"))
        self.source = ""  # "file:line" of the YAML definition, set by the pipeline
        self._output = printer(xml) if printer is not None else XmlJob(xml, name).output()

    @property
    def xml(self):
        raise AttributeError(f"{self.name}: a rendered item keeps only its output bytes; use output()")

    def output(self) -> bytes:
        return self._output


def _as_parsed(text: str | None) -> str | None:
    """The text as an XML parser reads it back from the printed bytes (line ends normalised,
    XML 1.0 section 2.11), which is what Jenkins stores and lists."""
    if text and "\r" in text:
        return text.replace("\r\n", "\n").replace("\r", "\n")
    return text


@dataclass(frozen=True)
class RenderedScope:
    """The items JJB generated for one set of YAML paths, each list in JJB's sorted order."""

    jobs: list[RenderedItem]
    views: list[RenderedItem]
    # What a check let through and says so (the job policy's exceptions and unknown classes), for
    # the process that reports: a scope may be rendered in a forked worker.
    notices: list[str] = field(default_factory=list)

    @property
    def items(self) -> list[RenderedItem]:
        return self.jobs + self.views

    @property
    def sources(self) -> dict[str, str]:
        """Where each job and view was defined ("file:line"), for messages about it."""
        return {item.name: item.source for item in self.items}

    def names(self) -> list[str]:
        return [item.name for item in self.items]


def output_path(out_dir: Path, name: str) -> Path:
    """Where `jenkins-jobs test --config-xml -o out_dir` writes the item `name`.

    The config.xml layout is the only one JJB can write for folders: in the flat layout the
    folder's file and its children's directory would have the same path.

    JJB normalises the name into a path, so ``..`` segments or a leading ``/`` would lead out of
    `out_dir`: such a path, or a name with a control character (a NUL fails in the file system
    call), is refused with an EnvDeliveryError naming the item, before anything is written.
    The comparison is lexical (``abspath``, not ``resolve``): `out_dir` is a directory this
    package made and holds only what it wrote, so no link inside it leads elsewhere, and a
    render of 12,000 items saves a symlink walk per file.
    """
    if any(_is_control(char) for char in name):
        raise EnvDeliveryError(f"item {name!r}: a control character in the name; nothing is written")
    target = out_dir / os.path.normpath(name) / "config.xml"
    if not Path(os.path.abspath(target)).is_relative_to(os.path.abspath(out_dir)):
        raise EnvDeliveryError(f"item {name!r}: its output path {os.path.normpath(name)!r} lies outside the "
                               "output directory; nothing is written")
    return target


def _is_control(char: str) -> bool:
    return char <= "\x1f" or "\x7f" <= char <= "\x9f"


WRITE_THREADS = 2
MIN_ITEMS_FOR_WRITE_THREADS = 500


def write_xml(items: Iterable[XmlJob], out_dir: Path, threads: int | None = None) -> list[Path]:
    """Write each item's ``output()`` where `jenkins-jobs test --config-xml` would.

    JJB writes the decoded text in text mode; on POSIX that is the same bytes. A large set is
    written by a few threads (`threads`, default WRITE_THREADS): creating thousands of files is
    system-call time, which runs outside the GIL (about 30% less wall time for 12,000 files
    with two threads on 2 CPUs).
    """
    # Every path proven inside out_dir before the first file is written.
    targets = [(output_path(out_dir, item.name), item) for item in items]

    def write(pair) -> Path:
        target, item = pair
        target.parent.mkdir(parents=True, exist_ok=True)  # safe when two threads race
        target.write_bytes(item.output())
        return target

    threads = WRITE_THREADS if threads is None else threads
    if threads <= 1 or len(targets) < MIN_ITEMS_FOR_WRITE_THREADS:
        return [write(pair) for pair in targets]
    with ThreadPoolExecutor(threads, thread_name_prefix="write-xml") as pool:
        return list(pool.map(write, targets, chunksize=64))
