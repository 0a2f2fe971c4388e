"""What each scope last pushed, so unchanged jobs cost no request and `plan` can compare
with the last applied configuration when the server cannot be reached.

One pair of files per server and scope (digests; the applied XML, gzipped), so updaters of
different scopes never share (or lock) a cache. An entry is written only after Jenkins
confirmed the push, and dropped when the item is deleted; writes are atomic.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import re
import tempfile
from pathlib import Path

from ..jjb.rendered import ItemKind


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

    def unchanged(self, key: str, digest: str) -> bool:
        return self.entries.get(key) == digest

    def record(self, key: str, digest: str, name: str, kind: ItemKind, xml: bytes) -> None:
        self.entries[key] = digest
        self.applied[key] = {"name": name, "kind": str(kind), "xml": xml.decode("utf-8")}

    def forget(self, key: str) -> None:
        self.entries.pop(key, None)
        self.applied.pop(key, None)

    def save(self) -> None:
        _write(self.path, json.dumps(self.entries, indent=0, sort_keys=True).encode())
        _write(self.applied_path, gzip.compress(json.dumps(self.applied, sort_keys=True).encode()))

    def close(self) -> None:
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()


def _read(path: Path, parse, load):
    if not path.exists():
        return {}
    try:
        return parse(load())
    except (OSError, ValueError):
        return {}  # an unreadable cache only costs re-pushes


def _write(path: Path, data: bytes) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".cache-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)
