"""What each scope last pushed, so unchanged jobs cost no request.

One file per server and scope, so updaters of different scopes never share (or lock) a
cache. An entry is written only after Jenkins confirmed the push, and dropped when the item
is deleted; writes are atomic.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from pathlib import Path


def default_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "jjb-envdelivery"


class ScopeCache:
    def __init__(self, root: Path, server_url: str, scope: str):
        slug = re.sub(r"[^A-Za-z0-9-]+", "_", server_url.rstrip("/"))
        self.path = Path(root) / slug / f"{scope}.json"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.path.with_suffix(".lock"), "w")
        # One run per scope and server at a time; other scopes are not held up.
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        try:
            self.entries: dict[str, str] = json.loads(self.path.read_text()) if self.path.exists() else {}
        except (OSError, ValueError):
            self.entries = {}  # an unreadable cache only costs re-pushes

    def unchanged(self, key: str, digest: str) -> bool:
        return self.entries.get(key) == digest

    def record(self, key: str, digest: str) -> None:
        self.entries[key] = digest

    def forget(self, key: str) -> None:
        self.entries.pop(key, None)

    def save(self) -> None:
        handle, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".cache-")
        with os.fdopen(handle, "w") as out:
            json.dump(self.entries, out, indent=0, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, self.path)

    def close(self) -> None:
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()
