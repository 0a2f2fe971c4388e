"""Fingerprints: an artifact's MD5 and the builds that produced and used it, in
``home/fingerprints.json`` (core Fingerprinter.java; copyartifact CopyArtifact.java:679-710).

Shape: ``{md5: {"fileName": name, "original": {"job": full name, "number": n},
"usages": {job: [numbers]}}}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Fingerprints:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> dict[str, dict]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def record(self, md5: str, file_name: str, original: tuple[str, int],
               users: list[tuple[str, int]]) -> None:
        """``FingerprintMap.getOrCreate(build, name, md5)`` then ``addFor`` each user."""
        with self._lock:
            data = self.load()
            entry = data.setdefault(md5, {"fileName": file_name,
                                          "original": {"job": original[0],
                                                       "number": original[1]},
                                          "usages": {}})
            for job, number in users:
                numbers = entry["usages"].setdefault(job, [])
                if number not in numbers:
                    numbers.append(number)
                    numbers.sort()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
