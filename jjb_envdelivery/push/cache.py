"""What each scope last pushed, so unchanged jobs cost no request and `plan` can compare
with the last applied configuration when the server cannot be reached.

One pair of files per server and scope (digests; the applied XML, gzipped), so updaters of
different scopes never share (or lock) a cache. An entry is written only after Jenkins
confirmed the push, and dropped when the item is deleted.

Each confirmed write is appended at once to a journal beside them (``<scope>.journal``, one
JSON line per record or forget), so a run that is killed loses nothing it pushed; rewriting the
whole gzipped file per write would cost O(items) per item. Loading replays the journal (a torn
last line, from a kill mid-write, is ignored: that item is merely pushed again); ``save()``
folds it into the two files (each replaced atomically) and then removes it. Replaying is
idempotent, so a kill between the two steps loses nothing either. The scope's file lock
serialises runs, so one process at a time appends.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import logging
import os
import re
import tempfile
import threading
from pathlib import Path

from ..jjb.rendered import ItemKind

log = logging.getLogger(__name__)


def default_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "jjb-envdelivery"


class ScopeCache:
    def __init__(self, root: Path, server_url: str, scope: str):
        slug = re.sub(r"[^A-Za-z0-9-]+", "_", server_url.rstrip("/"))
        self.path = Path(root) / slug / f"{scope}.json"
        self.applied_path = self.path.with_suffix(".applied.json.gz")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.path.with_suffix(".lock"), "w")
        # One run per scope and server at a time; other scopes are not held up.
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        self.entries: dict[str, str] = _read(self.path, json.loads, self.path.read_text)
        self.applied: dict[str, dict] = _read(self.applied_path, json.loads,
                                              lambda: gzip.decompress(self.applied_path.read_bytes()))
        self.journal_path = self.path.with_suffix(".journal")
        self._journal = None  # opened for appending at the first write
        self._journal_broken = False
        self._torn = self._replay()
        self._write_lock = threading.Lock()  # apply's workers record concurrently

    def unchanged(self, key: str, digest: str) -> bool:
        return self.entries.get(key) == digest

    def record(self, key: str, digest: str, name: str, kind: ItemKind, xml: bytes) -> None:
        applied = {"name": name, "kind": str(kind), "xml": xml.decode("utf-8")}
        with self._write_lock:
            self.entries[key] = digest
            self.applied[key] = applied
            self._append({"op": "record", "key": key, "digest": digest, **applied})

    def forget(self, key: str) -> None:
        with self._write_lock:
            self.entries.pop(key, None)
            self.applied.pop(key, None)
            self._append({"op": "forget", "key": key})

    def save(self) -> None:
        """Fold the journal into the two files, then remove it. A disk that refuses (full, read-only)
        leaves the journal and the old files as they were, with a warning: the cache only saves
        requests, so a failure to keep it never fails the push."""
        with self._write_lock:
            try:
                _write(self.path, json.dumps(self.entries, indent=0, sort_keys=True).encode())
                _write(self.applied_path, gzip.compress(json.dumps(self.applied, sort_keys=True).encode()))
            except OSError as exc:
                log.warning("could not save the scope cache %s (%s); the next run compares and pushes again "
                            "what it cannot skip", self.path, exc.strerror or exc)
                return
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            self.journal_path.unlink(missing_ok=True)
            self._torn = False

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()  # unsaved: the next run replays it
            self._journal = None
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()

    def _append(self, entry: dict) -> None:
        """One line per write, flushed to the OS at once: that survives the process being killed
        (SIGKILL, an out-of-memory kill, a cancelled build). Not fsynced per line: a sync per pushed
        item would cost a disk flush each, and what only a machine crash could lose is the tail of
        the journal, which costs re-pushes, never a wrong skip: a lost record makes the next run
        compare that item again (the server has it with this scope's mark, so it is changed, not
        created twice), a lost forget makes it create a deleted item again. save() fsyncs."""
        if self._journal_broken:
            return
        try:
            if self._journal is None:
                self._journal = _open_journal(self.journal_path)
                if self._torn:
                    self._journal.write("\n")  # end the torn line, or the next one would be lost with it
                    self._torn = False
            self._journal.write(json.dumps(entry, sort_keys=True) + "\n")
            self._journal.flush()
        except OSError as exc:
            # Full or read-only disk: the push goes on (its writes are confirmed by Jenkins); a kill
            # from here on costs re-pushes. A partly written line is torn and ignored on replay.
            self._journal_broken = True
            log.warning("could not journal the scope cache %s (%s); a killed run will push again what it "
                        "pushed after this", self.journal_path, exc.strerror or exc)

    def _replay(self) -> bool:
        """Apply the journal's lines to the loaded files; True when its last line is torn."""
        try:
            text = self.journal_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
        for line in text.splitlines():
            try:
                entry = json.loads(line)
                key = entry["key"]
                if entry["op"] == "record":
                    applied = {"name": entry["name"], "kind": entry["kind"], "xml": entry["xml"]}
                    self.entries[key] = entry["digest"]
                    self.applied[key] = applied
                elif entry["op"] == "forget":
                    self.entries.pop(key, None)
                    self.applied.pop(key, None)
            except (ValueError, KeyError, TypeError):
                continue  # a torn line (only ever the last): that write is pushed again
        return bool(text) and not text.endswith("\n")


def _read(path: Path, parse, load):
    if not path.exists():
        return {}
    try:
        return parse(load())
    except (OSError, ValueError):
        return {}  # an unreadable cache only costs re-pushes


def _open_journal(path: Path):
    return open(path, "a", encoding="utf-8")


def _write(path: Path, data: bytes) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".cache-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)  # a full disk keeps no half-written temporary file
        raise
