"""Drive JJB's own loader, registry and XML generators, as `jenkins-jobs test` does.

This is the one place that sequences JJB's stages (see JJB's
``cli/subcommand/base.py:make_jobs_and_views_xml``). It skips what `test` does only as a
side effect: the job cache and its lock, which `test` opens although it never uses them.
"""

from __future__ import annotations

import configparser
import gc
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from jenkins_jobs.config import JJBConfig
from jenkins_jobs.errors import JenkinsJobsException, context_lines
from jenkins_jobs.roots import Roots
from jenkins_jobs.xml_config import XmlJob

from ..errors import EnvDeliveryError
from . import parallel
from .fast_expand import use_fast_strings
from .fast_registry import FastModuleRegistry
from .fast_xml import FastXmlJobGenerator, FastXmlViewGenerator
from .fast_yaml import load_roots
from .sort_order import AlphanumKey

DEFAULT_INI = Path(__file__).with_name("defaults.ini")


@dataclass(frozen=True)
class RenderedScope:
    """The XML JJB generated for one set of YAML paths."""

    jobs: list[XmlJob]
    views: list[XmlJob]
    # Where each job and view was defined ("file:line"), for messages about it.
    sources: dict[str, str] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [item.name for item in self.jobs] + [item.name for item in self.views]


def make_jjb_config(conf: str | os.PathLike | None = None, plugins_info: list | None = None) -> JJBConfig:
    """A validated JJBConfig; without `conf`, JJB's built-in defaults and nothing else."""
    # JJB logs a warning for every config it reads; the CLI decides what to show.
    logging.getLogger("jenkins_jobs.config").setLevel(logging.ERROR)
    try:
        config = JJBConfig(str(conf) if conf else str(DEFAULT_INI))
        if plugins_info is not None:
            config.builder["plugins_info"] = plugins_info
        elif config.builder["plugins_info"] is None:
            # Never query a server while rendering; `-p/--plugins-info` supplies versions.
            config.builder["plugins_info"] = []
        config.validate()
    except (JenkinsJobsException, configparser.Error) as exc:
        raise EnvDeliveryError(f"JJB configuration {conf}: {exc}") from None
    return config


def expand_paths(paths: Iterable[os.PathLike | str], recursive: bool, excludes: Sequence[str]) -> list[Path]:
    """Expand directories the way the `jenkins-jobs` command line does (`-r`, `-x`)."""
    from jenkins_jobs import utils

    expanded: list[Path] = []
    for path in paths:
        if recursive and os.path.isdir(path):
            expanded.extend(Path(p) for p in utils.recurse_path(str(path), list(excludes)))
        else:
            expanded.append(Path(path))
    return expanded


def generate_xml(
    config: JJBConfig,
    paths: Sequence[Path],
    owner: str | None = None,
    allowed_roots: Sequence[Path] | None = None,
    name_prefix: str | None = None,
    processes: int | None = None,
    write_to: Path | None = None,
) -> RenderedScope:
    """Load YAML from `paths` and generate job and view XML with JJB's own components.

    `owner` marks every job and view as owned by that scope. `allowed_roots` loads
    untrusted YAML: include tags may read only inside those directories and Jinja2 runs
    sandboxed (see ``confined``). `name_prefix` refuses any job or view whose name does not
    start with it (a team's namespace), naming the file and line that defined it.
    `processes` (default: ``parallel.process_count()``) lets a large input's jobs be generated
    in forked workers; the bytes and errors are the same as with one. `write_to` (an empty
    directory) also gets every job and view written as ``write_xml`` does, by the worker that
    made it, while the others still generate; on an error it may hold some of them.
    """
    with _fewer_collections():
        return _generate(config, paths, owner, allowed_roots, name_prefix, processes, write_to)


@contextmanager
def _fewer_collections(threshold: int = 200_000):
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
def _frozen_for_workers():
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


def _generate(config, paths, owner, allowed_roots, name_prefix, processes, write_to) -> RenderedScope:
    if allowed_roots is None:
        roots = load_roots(config, paths)
    else:
        from .confined import load_files_confined

        roots = Roots(config)
        load_files_confined(config, roots, list(paths), list(allowed_roots))
    use_fast_strings(roots)
    registry = FastModuleRegistry(config, config.builder["plugins_info"])
    registry.set_macros(roots.macros)
    stage = _JobStage(roots, registry, owner, name_prefix, write_to)
    processes = parallel.process_count() if processes is None else processes
    shares = min(processes * SHARES_PER_PROCESS, len(stage.units) // MIN_UNITS_PER_SHARE)
    if processes > 1 and shares > 1:
        rendered = _generate_in_shares(stage, shares, processes)
        if rendered is not None:
            return rendered
    rendered = _generate_serially(stage)
    if write_to is not None:
        # Over anything a failed split wrote: the serial result names every job it made.
        write_xml(rendered.jobs + rendered.views, write_to)
    return rendered


# A scope is split over processes only when each share gets at least this many projects or
# top-level jobs: below that, forking costs more than it saves.
MIN_UNITS_PER_SHARE = 8
# Shares per process, handed out as workers become free: one slow share (or one slowed CPU on
# a shared machine) then delays the end by a fraction of a process's work, not by half of it.
SHARES_PER_PROCESS = 4


@dataclass
class _JobStage:
    """Loaded YAML and what is done to every generated item (JJB's order, see _generate_serially)."""

    roots: Roots
    registry: FastModuleRegistry
    owner: str | None
    name_prefix: str | None
    write_to: Path | None = None

    @property
    def units(self) -> list:
        # What Roots.generate_jobs expands, in its order: top-level jobs, then projects.
        return [*self.roots.jobs.values(), *self.roots.projects.values()]

    def prepare(self, items, kind: str) -> None:
        if self.name_prefix is not None:
            _check_names(items, kind, self.name_prefix)
        if self.owner is not None:
            _mark_owner(items, self.owner)


def _generate_serially(stage: _JobStage) -> RenderedScope:
    """`jenkins-jobs test`'s sequence: expand all, check, amend, then generate (fast_xml)."""
    jobs = stage.roots.generate_jobs()
    views = stage.roots.generate_views()
    stage.prepare(jobs, "job")
    stage.prepare(views, "view")
    stage.registry.amend_job_dicts(jobs)
    xml_jobs = FastXmlJobGenerator(stage.registry).generateXML(jobs)
    xml_views = FastXmlViewGenerator(stage.registry).generateXML(views)
    return _result(xml_jobs, xml_views, {item.data["name"]: _source(item) for item in jobs + views})


def _generate_in_shares(stage: _JobStage, shares: int, processes: int) -> RenderedScope | None:
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
        xml_jobs = FastXmlJobGenerator(stage.registry).generateXML(jobs)  # one per job, in order
        if stage.write_to is not None:
            write_xml(xml_jobs, stage.write_to, threads=1)  # the other workers keep the CPUs busy
        items = iter(xml_jobs)
        sources = {job.data["name"]: _source(job) for job in jobs}
        return [(number, [next(items) for _ in unit_jobs]) for number, unit_jobs in made], sources

    with _frozen_for_workers():
        outcomes = list(parallel.fork_map(render_share, range(shares), processes))
    if any(outcome is parallel.FAILED for outcome in outcomes):
        return None
    # Back in Roots.generate_jobs' order, so that equal sort keys keep the serial order too.
    by_unit = sorted((pair for per_unit, _ in outcomes for pair in per_unit), key=lambda pair: pair[0])
    xml_jobs = [item for _, items in by_unit for item in items]
    if len({item.name for item in xml_jobs}) != len(xml_jobs):
        return None  # JJB's duplicate handling (last wins, or its error) is the serial path's
    try:
        views = stage.roots.generate_views()
        stage.prepare(views, "view")
        xml_views = FastXmlViewGenerator(stage.registry).generateXML(views)
    except Exception:  # noqa: BLE001 - a job's error may come first in JJB's order: ask the serial path
        return None
    sources = {name: where for _, found in outcomes for name, where in found.items()}
    sources.update({item.data["name"]: _source(item) for item in views})
    rendered = _result(xml_jobs, xml_views, sources)
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


def _result(xml_jobs, xml_views, sources) -> RenderedScope:
    xml_jobs.sort(key=AlphanumKey)  # JJB's AlphanumSort order (see sort_order)
    xml_views.sort(key=AlphanumKey)
    return RenderedScope(xml_jobs, xml_views, sources)


def _source(item) -> str:
    """The file and line of the definition an expanded job or view came from."""
    for context in item.context:
        if context.pos is not None:
            return f"{context.pos.path}:{context.pos.line + 1}"
    return "?"


def describe_error(exc: JenkinsJobsException) -> str:
    """JJB's error with its context: the file:line:column of each definition involved, each
    with JJB's source snippet (``exc.lines``), or without it where JJB's snippet code fails (for
    an error inside a ``!j2:`` template it points past the end of the text: IndexError)."""
    lines = []
    for message, pos in [*((c.message, c.pos) for c in exc.ctx), (exc.message, exc.pos)]:
        try:
            lines += context_lines(message, pos)
        except Exception:  # noqa: BLE001 - the location without the snippet
            lines.append(f"{pos.path}:{pos.line + 1}:{pos.column + 1}: {message}")
    return "\n".join(lines)


def output_path(out_dir: Path, name: str) -> Path:
    """Where `jenkins-jobs test --config-xml -o out_dir` writes the item `name`.

    The config.xml layout is the only one JJB can write for folders: in the flat layout the
    folder's file and its children's directory would have the same path.
    """
    return out_dir / os.path.normpath(name) / "config.xml"


def write_xml(items: Iterable[XmlJob], out_dir: Path, threads: int | None = None) -> list[Path]:
    """Write each item's ``output()`` where `jenkins-jobs test --config-xml` would.

    JJB writes the decoded text in text mode; on POSIX that is the same bytes. A large set is
    written by a few threads (`threads`, default WRITE_THREADS): creating thousands of files is
    system-call time, which runs outside the GIL (about 30% less wall time for 12,000 files
    with two threads on 2 CPUs).
    """
    items = list(items)

    def write(item) -> Path:
        target = output_path(out_dir, item.name)
        target.parent.mkdir(parents=True, exist_ok=True)  # safe when two threads race
        target.write_bytes(item.output())
        return target

    threads = WRITE_THREADS if threads is None else threads
    if threads <= 1 or len(items) < MIN_ITEMS_FOR_WRITE_THREADS:
        return [write(item) for item in items]
    with ThreadPoolExecutor(threads, thread_name_prefix="write-xml") as pool:
        return list(pool.map(write, items, chunksize=64))


WRITE_THREADS = 2
MIN_ITEMS_FOR_WRITE_THREADS = 500


def _mark_owner(items, owner: str) -> None:
    from ..push import ownership

    for item in items:
        description = item.data.get("description")
        if ownership.carries_mark(description if isinstance(description, str) else None):
            raise JenkinsJobsException(
                f"{item.data['name']}: the description holds an ownership mark; "
                "only the updater may write one"
            ).with_ctx_list(item.context)
        item.data["description"] = ownership.with_mark(description, owner)


def _check_names(items, kind: str, prefix: str) -> None:
    for item in items:
        name = item.data["name"]
        if not name.startswith(prefix):
            raise JenkinsJobsException(
                f"{kind} {name!r} is outside the scope's namespace: every name must start with {prefix!r}"
            ).with_ctx_list(item.context)
