"""A large scope's jobs generated in forked workers, and the collector tuned for rendering.

``jenkins-jobs test`` expands and generates every job in one process. Here the scope's units
(top-level jobs and projects) are dealt into shares, workers take the next share as they free
up, and the results come back in JJB's order, so the bytes and the sort are the serial path's.
Anything unusual (a failure, two units making the same job) returns None and the caller runs
the serial path, whose result or error is JJB's own.
"""

from __future__ import annotations

import gc
import logging
import os
from contextlib import contextmanager

from .. import parallel
from ..rendered import RenderedItem, RenderedScope, write_xml
from ..stage import JobStage
from .sort_order import AlphanumKey

# A scope is split over processes only when each share gets at least this many projects or
# top-level jobs: below that, forking costs more than it saves.
MIN_UNITS_PER_SHARE = 8
# Shares per process, handed out as workers become free: one slow share (or one slowed CPU on
# a shared machine) then delays the end by a fraction of a process's work, not by half of it.
SHARES_PER_PROCESS = 4

log = logging.getLogger(__name__)


def share_count(stage: JobStage, processes: int) -> int:
    return min(processes * SHARES_PER_PROCESS, len(stage.units) // MIN_UNITS_PER_SHARE)


def sorted_scope(jobs: list[RenderedItem], views: list[RenderedItem]) -> RenderedScope:
    jobs.sort(key=AlphanumKey)  # JJB's AlphanumSort order (see sort_order)
    views.sort(key=AlphanumKey)
    return RenderedScope(jobs, views)


@contextmanager
def fewer_collections(threshold: int = 200_000):
    """Rendering allocates millions of short-lived, mostly acyclic objects: collecting the young
    generation every 700 allocations (Python's default) costs ~5-10% of a large render, so it
    runs every `threshold` (openstack-project-config: 8 young collections, 1 middle one and
    ~0.9 s in all, against 30, 3 and ~1.3 s every 50,000)."""
    previous = gc.get_threshold()
    gc.set_threshold(max(threshold, previous[0]), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


@contextmanager
def frozen_for_workers():
    """Everything that exists now frozen (``gc.freeze``) while forked workers render: their
    full collections then skip the loaded YAML they inherit (~0.5 s for openstack-project-
    config), and do not copy its memory pages by walking it. Only around a fork: frozen cyclic
    garbage is never collected, so freezing before each of many scopes rendered in one process
    would keep every earlier scope's garbage (+80 MB over a 20,000-job organisation). Nothing is
    frozen when the caller has frozen objects itself."""
    froze = gc.get_freeze_count() == 0
    if froze:
        gc.freeze()
    try:
        yield
    finally:
        if froze:
            gc.unfreeze()


def generate_in_shares(stage: JobStage, shares: int, processes: int) -> RenderedScope | None:
    """The jobs generated in `shares` tasks on `processes` forked workers, each task expanding
    every `shares`-th unit and printing its jobs; views here. None when anything failed or two
    units made the same job: the serial path then gives JJB's own result or error."""
    units = stage.units

    def render_share(index: int):
        top_level = len(stage.roots.jobs)
        made = [(number, list(unit.top_level_generate_items() if number < top_level else unit.generate_jobs()))
                for number, unit in enumerate(units) if number % shares == index]
        jobs = [job for _, unit_jobs in made for job in unit_jobs]
        stage.prepare(jobs, "job")
        stage.registry.amend_job_dicts(jobs)
        xml_jobs = stage.generate(jobs, is_view=False)  # one per job, in order
        if stage.write_to is not None:
            write_xml(xml_jobs, stage.write_to, threads=1)  # the other workers keep the CPUs busy
        items = iter(xml_jobs)
        return [(number, [next(items) for _ in unit_jobs]) for number, unit_jobs in made]

    with frozen_for_workers():
        outcomes = list(parallel.fork_map(render_share, range(shares), processes))
    if any(outcome is parallel.FAILED for outcome in outcomes):
        log.debug("a share failed in its worker: the serial path renders the scope (and raises JJB's error)")
        return None
    # Back in Roots.generate_jobs' order, so that equal sort keys keep the serial order too.
    by_unit = sorted((pair for per_unit in outcomes for pair in per_unit), key=lambda pair: pair[0])
    xml_jobs = [item for _, items in by_unit for item in items]
    # Without case: Jenkins holds "a" and "A" as one item, and the serial path's stage names both.
    if len({item.name.lower() for item in xml_jobs}) != len(xml_jobs):
        log.debug("two units made the same job name: the serial path applies JJB's duplicate handling")
        return None
    try:
        views = stage.roots.generate_views()
        stage.prepare(views, "view")
        xml_views = stage.generate(views, is_view=True)
    except Exception as exc:  # noqa: BLE001 - a job's error may come first in JJB's order: ask the serial path
        log.debug("generating the views failed (%s): the serial path raises the error JJB raises first", exc)
        return None
    rendered = sorted_scope(xml_jobs, xml_views)
    if stage.write_to is not None:
        # The views, and once more in JJB's order any jobs that share a file (such as "a/b"
        # and "a/./b"), so that the last one JJB writes is the one left, as with JJB.
        write_xml(_sharing_a_file(rendered.jobs) + rendered.views, stage.write_to)
    return rendered


def _sharing_a_file(items: list) -> list:
    """The items (in their order) whose output path is also another item's."""
    paths = [os.path.normpath(item.name) for item in items]
    counts: dict[str, int] = {}
    for path in paths:
        counts[path] = counts.get(path, 0) + 1
    return [item for item, path in zip(items, paths, strict=True) if counts[path] > 1]
