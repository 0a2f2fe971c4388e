"""Render scopes (or plain JJB paths) to Jenkins config XML, and write it out.

Everything is generated in memory first; only then is the output directory replaced, so
a failed render leaves the previous output as it was. Checking the job graph of what was
rendered is the orchestration layer's (``orchestration.checked_render``).
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from jenkins_jobs.errors import JenkinsJobsException

from . import policy
from .errors import EnvDeliveryError, check_utf8
from .generator import CONTEXT_DEFAULTS
from .jjb import parallel, pipeline
from .model.organisation import Organisation
from .model.policy import TeamPolicy
from .scopes import Scope, local_jobs_dir, project_scope, root_scope

log = logging.getLogger(__name__)


@dataclass
class ScopeResult:
    scope: Scope
    rendered: pipeline.RenderedScope


@dataclass
class RenderResult:
    scopes: list[ScopeResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def job_count(self) -> int:
        return sum(len(s.rendered.jobs) for s in self.scopes)

    @property
    def view_count(self) -> int:
        return sum(len(s.rendered.views) for s in self.scopes)


def render_scope(scope: Scope, config, owner: str | None = None) -> pipeline.RenderedScope:
    """A scope's XML as `jenkins-jobs test` writes it (with `owner`, marked for pushing).

    A team scope's YAML is untrusted wherever it is rendered (DESIGN.md, "Trust"): it is loaded
    confined to the real paths the scope resolved once (``Scope.read_roots``) and within its
    limits, only the generated context may set what the root scope bakes, its names must lie in
    its namespace, and its rendered jobs must pass the job policy (``policy``) for its grants.
    """
    paths = pipeline.expand_paths(scope.yaml_paths, recursive=not scope.is_root, excludes=[".*"])
    allowed = baked = None
    if not scope.is_root:
        allowed = list(scope.read_roots)
        baked = pipeline.BakedContext(scope.context_file, frozenset({CONTEXT_DEFAULTS}), scope.baked_keys)
    prefix = scope.namespace.job_prefix if scope.namespace else None
    try:
        rendered = pipeline.generate_xml(config, paths, owner=owner, allowed_roots=allowed, name_prefix=prefix,
                                         baked=baked, limits=None if scope.is_root else scope.limits)
    except JenkinsJobsException as exc:
        raise EnvDeliveryError(f"scope {scope.name}: {pipeline.describe_error(exc)}") from None
    except yaml.YAMLError as exc:  # JJB lets PyYAML's syntax errors (file, line, column) through
        raise EnvDeliveryError(f"scope {scope.name}: {exc}") from None
    if not scope.is_root:
        notices = policy.enforce(scope.name, scope.namespace, scope.policy or TeamPolicy(), rendered.items)
        rendered = dataclasses.replace(rendered, notices=notices)
    return rendered


def report_notices(rendered: pipeline.RenderedScope) -> None:
    """Show, as warnings, what the checks let through and say so (in the reporting process)."""
    for notice in rendered.notices:
        log.warning("%s", notice)


def organisation_scopes(org: Organisation, workdir: Path, projects: set[str] | None = None,
                        skipped: list[str] | None = None) -> list[Scope]:
    """The root scope plus `project_scopes`."""
    return [root_scope(org, workdir), *project_scopes(org, workdir, projects, skipped)]


def project_scopes(org: Organisation, workdir: Path, projects: set[str] | None = None,
                   skipped: list[str] | None = None) -> list[Scope]:
    """Every project (or those in `projects`) whose job YAML is at hand (its local checkout);
    each project without one is noted in `skipped`."""
    scopes = []
    for project in org.projects:
        if projects is not None and project.name not in projects:
            continue
        jobs_dir = local_jobs_dir(project)
        if jobs_dir is None:
            if skipped is not None:
                skipped.append(f"project {project.name}: no local-checkout in the org file, "
                               "so its team YAML is not rendered here")
            continue
        scopes.append(project_scope(org, project, workdir, jobs_dir))
    return scopes


def render_scope_list(scopes: list[Scope], config, owned: frozenset[str] = frozenset()) -> list[ScopeResult]:
    """Each scope rendered as `render_scope` does (those named in `owned` with their owner
    marks), in forked workers when there are several (``jjb.parallel``); the first failing
    scope's error, exactly as a serial loop would raise it."""
    def render(scope: Scope) -> pipeline.RenderedScope:
        return render_scope(scope, config, owner=scope.name if scope.name in owned else None)

    results = []
    with closing(parallel.fork_map(render, scopes, parallel.process_count())) as outcomes:
        for scope, outcome in zip(scopes, outcomes, strict=True):
            if outcome is parallel.FAILED:
                outcome = render(scope)  # here, to raise its own error (or to succeed where a worker died)
            results.append(ScopeResult(scope, outcome))
            report_notices(outcome)
    return results


def render_scopes(org: Organisation, conf: Path | None = None, workdir: Path | None = None,
                  projects: set[str] | None = None, plugins_info: list | None = None) -> RenderResult:
    """The root scope plus every project (or those in `projects`) whose job YAML is at hand."""
    config = pipeline.make_jjb_config(conf, plugins_info)
    result = RenderResult()
    with tempfile.TemporaryDirectory(prefix="jjb-envdelivery-") as tmp:
        work = Path(workdir) if workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        scopes = organisation_scopes(org, work, projects, result.skipped)
        result.scopes = render_scope_list(scopes, config)
    return result


def render_paths(paths: list[Path], conf: Path | None = None, recursive: bool = False,
                 excludes: tuple[str, ...] = (".*",), plugins_info: list | None = None,
                 write_to: Path | None = None) -> pipeline.RenderedScope:
    """Plain JJB input, as `jenkins-jobs test` would take it; with `write_to` (an empty
    directory, e.g. ``replacing_output``'s), also written there as it is made."""
    config = pipeline.make_jjb_config(conf, plugins_info)
    expanded = pipeline.expand_paths(paths, recursive or config.recursive, excludes)
    for path in _yaml_files_jjb_reads(expanded):
        check_utf8(path, "JJB YAML")
    try:
        return pipeline.generate_xml(config, expanded, write_to=write_to)
    except JenkinsJobsException as exc:
        raise EnvDeliveryError(pipeline.describe_error(exc)) from None
    except yaml.YAMLError as exc:
        raise EnvDeliveryError(str(exc)) from None
    except UnicodeDecodeError as exc:
        # A file an include tag read (the YAML files themselves were checked above); JJB's
        # text read does not say which, and its offset is within a chunk, not the file.
        raise EnvDeliveryError(f"a file the JJB YAML includes is not UTF-8 ({exc.reason}); "
                               "included files must be UTF-8 text") from None


def _yaml_files_jjb_reads(paths: list[Path]) -> list[Path]:
    """The files JJB's ``load_files`` reads for `paths`: a directory's own .yml/.yaml files
    (jenkins_jobs/loader.py ``enum_expanded_paths``), any other path as it is."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(p for p in sorted(path.iterdir()) if p.suffix in {".yml", ".yaml"} and p.is_file())
        else:
            files.append(path)
    return files


def write_output(items, out_dir: Path) -> int:
    """Replace `out_dir` with exactly `items`, in the layout of `jenkins-jobs test --config-xml`."""
    with replacing_output(out_dir) as staging:
        return len(pipeline.write_xml(items, staging))


@contextmanager
def replacing_output(out_dir: Path):
    """An empty staging directory next to `out_dir` that replaces it when the block succeeds;
    on any error it is removed and `out_dir` is left as it was."""
    out_dir = Path(out_dir)
    _refuse_foreign_output(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        yield staging
        if out_dir.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            out_dir.rename(retired / "out")
            staging.rename(out_dir)
            shutil.rmtree(retired)
        else:
            staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _refuse_foreign_output(out_dir: Path) -> None:
    """Replacing the output directory must never delete something render did not write."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise EnvDeliveryError(f"output {out_dir} exists and is not a directory")
    foreign = [p for p in out_dir.rglob("*") if p.is_file() and p.name != "config.xml"]
    if foreign:
        raise EnvDeliveryError(
            f"refusing to replace {out_dir}: it holds files a render did not write "
            f"(e.g. {foreign[0]}); choose an empty or new output directory"
        )
