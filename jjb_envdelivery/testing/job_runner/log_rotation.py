"""``hudson.tasks.LogRotator.perform`` (core LogRotator.java:155-245), run after each build as
``Job.logRotate`` is (core Job.java:516-520, jenkins/model/GlobalBuildDiscarderListener.java:60).

Builds are newest first. The last successful (result at least UNSTABLE) and the last stable
build are never touched unless ``removeLastBuild``; a build still running is never touched.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from .properties import LogRotator
from .results import at_least

DAY = 86400.0


def rotate(builds: list[Any], rotator: LogRotator, now: float | None = None) -> tuple[list[Any],
                                                                                      list[Any]]:
    """Apply ``rotator`` to ``builds`` (emulator Build records, newest first). Returns the builds
    deleted and the builds whose artifacts were deleted; the caller removes the deleted ones
    from the job."""
    now = time.time() if now is None else now
    completed = [b for b in builds if not b.building]
    last_successful = None if rotator.remove_last_build else \
        next((b for b in completed if at_least(b.result, "UNSTABLE")), None)
    last_stable = None if rotator.remove_last_build else \
        next((b for b in completed if b.result == "SUCCESS"), None)

    def keep(b: Any) -> bool:  # shouldKeepRun (:225-245)
        return b is last_successful or b is last_stable or b.building

    def too_new(b: Any, days: int) -> bool:
        return b.timestamp / 1000.0 > now - days * DAY

    deleted: list[Any] = []
    if rotator.num_to_keep != -1:
        deleted += [b for b in builds[rotator.num_to_keep:] if not keep(b)]
    if rotator.days_to_keep != -1:
        for b in reversed(builds):  # from the first build onwards, until one is too new
            if too_new(b, rotator.days_to_keep):
                break
            if not keep(b) and b not in deleted:
                deleted.append(b)
    purged: list[Any] = []
    remaining = [b for b in builds if b not in deleted]
    if rotator.artifact_num_to_keep is not None and rotator.artifact_num_to_keep != -1:
        purged += [b for b in builds[rotator.artifact_num_to_keep:]
                   if b in remaining and not keep(b)]
    if rotator.artifact_days_to_keep is not None and rotator.artifact_days_to_keep != -1:
        for b in reversed(remaining):
            if too_new(b, rotator.artifact_days_to_keep):
                break
            if not keep(b) and b not in purged:
                purged.append(b)
    for b in deleted:
        if b.build_dir:
            shutil.rmtree(b.build_dir, ignore_errors=True)
    for b in purged:
        if b.archive_dir and Path(b.archive_dir).exists():
            shutil.rmtree(b.archive_dir, ignore_errors=True)
        b.artifacts = []
    return deleted, purged
