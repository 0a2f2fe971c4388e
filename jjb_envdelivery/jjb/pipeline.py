"""Drive JJB's own loader, registry and XML generators, as `jenkins-jobs test` does.

This is the one place that sequences JJB's stages (see JJB's
``cli/subcommand/base.py:make_jobs_and_views_xml``). It skips what `test` does only as a
side effect: the job cache and its lock, which `test` opens although it never uses them.
"""

from __future__ import annotations

import configparser
import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from jenkins_jobs.alphanum import AlphanumSort
from jenkins_jobs.config import JJBConfig
from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.loader import load_files
from jenkins_jobs.roots import Roots
from jenkins_jobs.xml_config import XmlJob

from ..errors import EnvDeliveryError
from .fast_xml import FastModuleRegistry, FastXmlJobGenerator, FastXmlViewGenerator

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
) -> RenderedScope:
    """Load YAML from `paths` and generate job and view XML with JJB's own components.

    `owner` marks every job and view as owned by that scope. `allowed_roots` loads
    untrusted YAML: include tags may read only inside those directories and Jinja2 runs
    sandboxed (see ``confined``). `name_prefix` refuses any job or view whose name does not
    start with it (a team's namespace), naming the file and line that defined it.
    """
    roots = Roots(config)
    if allowed_roots is None:
        load_files(config, roots, list(paths))
    else:
        from .confined import load_files_confined

        load_files_confined(config, roots, list(paths), list(allowed_roots))
    registry = FastModuleRegistry(config, config.builder["plugins_info"])
    registry.set_macros(roots.macros)
    jobs = roots.generate_jobs()
    views = roots.generate_views()
    if name_prefix is not None:
        _check_names(jobs, "job", name_prefix)
        _check_names(views, "view", name_prefix)
    if owner is not None:
        _mark_owner(jobs + views, owner)
    registry.amend_job_dicts(jobs)
    # JJB's generators, but each project/view type is loaded once, not per job, and every
    # item's output() bytes are printed once, without the minidom round trip (fast_xml).
    xml_jobs = FastXmlJobGenerator(registry).generateXML(jobs)
    xml_views = FastXmlViewGenerator(registry).generateXML(views)
    xml_jobs.sort(key=AlphanumSort)
    xml_views.sort(key=AlphanumSort)
    return RenderedScope(xml_jobs, xml_views, {item.data["name"]: _source(item) for item in jobs + views})


def _source(item) -> str:
    """The file and line of the definition an expanded job or view came from."""
    for context in item.context:
        if context.pos is not None:
            return f"{context.pos.path}:{context.pos.line + 1}"
    return "?"


def describe_error(exc: JenkinsJobsException) -> str:
    """JJB's error with its context: the file:line:column of each definition involved."""
    return "\n".join(exc.lines)


def output_path(out_dir: Path, name: str) -> Path:
    """Where `jenkins-jobs test --config-xml -o out_dir` writes the item `name`.

    The config.xml layout is the only one JJB can write for folders: in the flat layout the
    folder's file and its children's directory would have the same path.
    """
    return out_dir / os.path.normpath(name) / "config.xml"


def write_xml(items: Iterable[XmlJob], out_dir: Path) -> list[Path]:
    written = []
    for item in items:
        target = output_path(out_dir, item.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with io.open(target, "w", encoding="utf-8") as handle:
            handle.write(item.output().decode("utf-8"))
        written.append(target)
    return written


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
