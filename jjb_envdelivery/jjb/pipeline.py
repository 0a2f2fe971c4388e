"""Drive JJB's own loader, registry and XML generators, as `jenkins-jobs test` does.

This is the one place that sequences JJB's stages (see JJB's
``cli/subcommand/base.py:make_jobs_and_views_xml``). It skips what `test` does only as a
side effect: the job cache and its lock, which `test` opens although it never uses them.
Each stage runs either JJB's own class or, while ``fast.enabled()``, the fast path's stand-in
for it (``jjb.fast``): the bytes and errors are the same.
"""

from __future__ import annotations

import configparser
import logging
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Iterable, Sequence

from jenkins_jobs import utils
from jenkins_jobs.alphanum import AlphanumSort
from jenkins_jobs.config import JJBConfig
from jenkins_jobs.errors import JenkinsJobsException, context_lines
from jenkins_jobs.loader import load_files
from jenkins_jobs.registry import ModuleRegistry
from jenkins_jobs.roots import Roots
from jenkins_jobs.xml_config import XmlJobGenerator, XmlViewGenerator

from ..errors import EnvDeliveryError
from . import fast, parallel
from . import limits as team_limits
from .confined import BakedContext, load_files_confined, refuse_baked_context
from .fast import shares
from .fast.expand import use_fast_strings
from .fast.registry import FastModuleRegistry
from .fast.xml_generators import FastXmlJobGenerator, FastXmlViewGenerator
from .fast.yaml_loader import load_roots
from .rendered import ItemKind, RenderedItem, RenderedScope, output_path, write_xml
from .stage import JobStage
from .template_choices import check_template_choices

__all__ = ["FAST_SWITCH_ENV", "BakedContext", "ItemKind", "RenderedItem", "RenderedScope", "describe_error",
           "expand_paths", "generate_xml", "make_jjb_config", "output_path", "set_fast_path", "write_xml"]

FAST_SWITCH_ENV = fast.SWITCH_ENV


def set_fast_path(enabled: bool | None) -> None:
    """False: render through JJB's own classes only (``render --no-fast``); None: as
    ``JJB_ENVDELIVERY_FAST`` says (on unless ``0``)."""
    fast.set_enabled(enabled)

DEFAULT_INI = Path(__file__).with_name("defaults.ini")


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
    limits: team_limits.Limits | None = None,
    baked: BakedContext | None = None,
) -> RenderedScope:
    """Load YAML from `paths` and generate job and view XML with JJB's own components.

    `owner` marks every job and view as owned by that scope. `allowed_roots` loads
    untrusted YAML: include tags may read only inside those directories and Jinja2 runs
    sandboxed (see ``confined``). `name_prefix` refuses any job or view whose name does not
    start with it (a team's namespace), naming the file and line that defined it.
    `processes` (default: ``parallel.process_count()``) lets a large input's jobs be generated
    in forked workers; the bytes and errors are the same as with one. `write_to` (an empty
    directory) also gets every job and view written as ``write_xml`` does, by the worker that
    made it, while the others still generate; on an error it may hold some of them. Untrusted
    YAML is bounded by `limits` (default: ``limits.DEFAULT_LIMITS``; see ``jjb.limits``); with
    `baked`, nothing but its file may set the context the root scope bakes (``refuse_baked_context``).
    """
    on = fast.enabled()
    if allowed_roots is None:
        with shares.fewer_collections() if on else nullcontext():
            return _generate(config, paths, owner, allowed_roots, name_prefix, processes, write_to, on)
    limits = limits or team_limits.DEFAULT_LIMITS
    try:
        with shares.fewer_collections() if on else nullcontext():
            rendered = _generate(config, paths, owner, allowed_roots, name_prefix, processes, write_to, on, limits,
                                 baked)
    except RecursionError:  # a macro or template using itself, in JJB's own recursive expansion
        raise team_limits.recursion_refused(allowed_roots) from None
    team_limits.check_rendered(rendered, limits)
    return rendered


def _generate(config, paths, owner, allowed_roots, name_prefix, processes, write_to, on: bool,
              limits=None, baked=None) -> RenderedScope:
    if allowed_roots is not None:
        roots = Roots(config)
        load_files_confined(config, roots, list(paths), list(allowed_roots), limits)
        if baked is not None:
            refuse_baked_context(roots, baked)
    elif on:
        roots = load_roots(config, paths)
    else:
        roots = Roots(config)
        load_files(config, roots, list(paths))
    # A wrong choice parameter of a job-template (`package: rpm`, a misspelt `pakage:`) is named
    # here, with the accepted values, before JJB's expansion turns it into a traceback.
    check_template_choices(roots)
    if on:
        use_fast_strings(roots)
    registry = (FastModuleRegistry if on else ModuleRegistry)(config, config.builder["plugins_info"])
    registry.set_macros(roots.macros)
    stage = JobStage(roots, registry, FastXmlJobGenerator if on else XmlJobGenerator,
                     FastXmlViewGenerator if on else XmlViewGenerator, owner, name_prefix, write_to)
    processes = parallel.process_count() if processes is None else processes
    count = shares.share_count(stage, processes) if on else 0
    if processes > 1 and count > 1:
        rendered = shares.generate_in_shares(stage, count, processes)
        if rendered is not None:
            return rendered
    rendered = _generate_serially(stage, on)
    if write_to is not None:
        # Over anything a failed split wrote: the serial result names every job it made.
        write_xml(rendered.jobs + rendered.views, write_to)
    return rendered


def _generate_serially(stage: JobStage, on: bool) -> RenderedScope:
    """`jenkins-jobs test`'s sequence: expand all, check, amend, then generate and sort."""
    jobs = stage.roots.generate_jobs()
    views = stage.roots.generate_views()
    stage.prepare(jobs, "job")
    stage.prepare(views, "view")
    stage.registry.amend_job_dicts(jobs)
    xml_jobs = stage.generate(jobs, is_view=False)
    xml_views = stage.generate(views, is_view=True)
    if on:
        return shares.sorted_scope(xml_jobs, xml_views)
    xml_jobs.sort(key=AlphanumSort)
    xml_views.sort(key=AlphanumSort)
    return RenderedScope(xml_jobs, xml_views)


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
