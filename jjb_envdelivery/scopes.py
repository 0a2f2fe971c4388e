"""Scopes: what one updater owns and which YAML it renders.

The root scope is the platform team's: its YAML is generated from the org file. A project
scope is a team's: the generated context, the shipped templates and the team's own YAML.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import generator
from .data_dirs import shipped_templates_dir
from .errors import EnvDeliveryError
from .model.limits import DEFAULT_LIMITS, Limits
from .model.organisation import (
    DEFAULT_BUILD_TIMEOUT,
    MIN_BUILD_TIMEOUT,
    ROOT_SCOPE,
    Namespace,
    NamespaceKind,
    Organisation,
    Project,
)
from .model.policy import TeamPolicy

ROOT = ROOT_SCOPE


@dataclass(frozen=True)
class Scope:
    name: str
    # None for the root scope: it may write its own folder, the project folders and views.
    namespace: Namespace | None
    yaml_paths: tuple[Path, ...]
    # A team scope's: the real paths its YAML may read (the shipped templates, its jobs directory),
    # resolved once when the scope is made, and the generated file that alone sets the baked context.
    read_roots: tuple[Path, ...] = ()
    context_file: Path | None = None
    baked_keys: frozenset[str] = frozenset()
    # A team scope's: what the job policy judges its rendered jobs against, and its bounds.
    policy: TeamPolicy | None = None
    limits: Limits = DEFAULT_LIMITS
    # A renamed project's former name: the items that scope owns in this one's namespace are taken over.
    adopt_from: str | None = None

    @property
    def is_root(self) -> bool:
        return self.name == ROOT


def root_scope(org: Organisation, workdir: Path) -> Scope:
    generated = workdir / "root.yaml"
    generated.write_text(generator.to_yaml(generator.root_scope_definitions(org), f"Root scope of {org.name}"),
                         encoding="utf-8")
    return Scope(ROOT, None, (generated,))


def project_scope(org: Organisation, project: Project, workdir: Path, jobs_dir: Path) -> Scope:
    """`jobs_dir` is the project's jobs path inside a checkout of its repository."""
    if not jobs_dir.is_dir():
        raise EnvDeliveryError(
            f"project {project.name}: no job YAML directory at {jobs_dir} "
            f"(jobs-path {project.jobs_path!r} in a checkout of {project.repo.url})"
        )
    return team_scope(project.name, project.namespace, [(r.name, r.branch) for r in org.release_lines],
                      org.root_folder, org.build_timeout, jobs_dir, workdir,
                      checkout=_checkout_of(project, jobs_dir), policy=org.team_policy(project),
                      limits=DEFAULT_LIMITS.with_settings(org.limits))


def _checkout_of(project: Project, jobs_dir: Path) -> Path:
    """The checkout `jobs_dir` belongs to: the org file's local-checkout, else the directory the
    project's jobs-path sits in (as a child updater lays it out in its workspace)."""
    if project.repo.local_checkout is not None and jobs_dir == local_jobs_dir(project):
        return project.repo.local_checkout
    return _checkout_holding(jobs_dir, Path(project.jobs_path))


def _checkout_holding(jobs_dir: Path, jobs_path: Path | None) -> Path:
    # Lexical on purpose: the checkout is where the path says, whatever its last parts link to.
    if not jobs_dir.is_absolute():
        return Path.cwd()  # the updater's workspace: JOBS_PATH is relative to it
    parts, tail = jobs_dir.parts, (jobs_path.parts if jobs_path else ())
    if tail and len(parts) > len(tail) and parts[-len(tail):] == tail:
        return Path(*parts[:-len(tail)])
    return jobs_dir.parent


def confinement_root(name: str, jobs_dir: Path, checkout: Path) -> Path:
    """The real path of `jobs_dir`, refused unless it stays inside the real path of `checkout`:
    a symlinked jobs directory would otherwise move what the team's YAML may read."""
    real_checkout, real_jobs = Path(os.path.realpath(checkout)), Path(os.path.realpath(jobs_dir))
    if not real_jobs.is_relative_to(real_checkout):
        raise EnvDeliveryError(f"scope {name}: job YAML directory {jobs_dir} leads to {real_jobs}, outside the "
                               f"team's checkout {real_checkout} (is it a symlink?)")
    return real_jobs


def team_scope(name: str, namespace: Namespace, releases: list[tuple[str, str]], root_folder: str,
               build_timeout: int, jobs_dir: Path, workdir: Path, checkout: Path | None = None,
               policy: TeamPolicy | None = None, limits: Limits = DEFAULT_LIMITS) -> Scope:
    """A team's scope: its generated context, the shipped templates, then its own YAML.

    `checkout` (default: as ``_checkout_holding`` finds it) is the team's repository checkout;
    the jobs directory's real path must stay inside it. `policy` (default: nothing granted)
    is what its rendered jobs are judged against."""
    policy = policy or TeamPolicy()
    if not jobs_dir.is_dir():
        raise EnvDeliveryError(f"scope {name}: no job YAML directory at {jobs_dir}")
    jobs_root = confinement_root(name, jobs_dir, checkout or _checkout_holding(jobs_dir, None))
    entries = generator.context_defaults(name, namespace, releases, root_folder, build_timeout)
    context = workdir / f"context-{name}.yaml"
    context.write_text(generator.to_yaml(entries, f"Context of project {name}"), encoding="utf-8")
    templates = shipped_templates_dir()
    return Scope(name, namespace, (context, templates, jobs_dir),
                 read_roots=(Path(os.path.realpath(templates)), jobs_root), context_file=context,
                 baked_keys=_baked_keys(entries), policy=policy, limits=limits)


# The one context key a team's project may override (job-templates/envdelivery-common.yaml).
OVERRIDABLE_CONTEXT_KEYS = frozenset({"build-timeout"})


def _baked_keys(entries: list[dict]) -> frozenset[str]:
    """The parameters of the generated context, and those each release line carries (`branch`)."""
    keys: set[str] = set()
    for entry in entries:
        params = dict(entry["defaults"])
        params.pop("name")
        keys |= set(params)
        for line in params.get("release", []):
            for values in line.values():
                keys |= set(values)
    return frozenset(keys - OVERRIDABLE_CONTEXT_KEYS)


def local_jobs_dir(project: Project) -> Path | None:
    """The project's jobs directory in its local checkout, if the org file names one."""
    if project.repo.local_checkout is None:
        return None
    return project.repo.local_checkout / project.jobs_path


def project_scope_from_args(name: str, namespace: str, releases: list[str], root_folder: str,
                            jobs_dir: Path, workdir: Path, build_timeout: int = DEFAULT_BUILD_TIMEOUT,
                            policy: TeamPolicy | None = None, limits: Limits = DEFAULT_LIMITS) -> Scope:
    """A team scope from what the root scope baked into the child updater's command."""
    if isinstance(build_timeout, bool) or not isinstance(build_timeout, int) or build_timeout < MIN_BUILD_TIMEOUT:
        raise EnvDeliveryError(f"--build-timeout {build_timeout!r}: expected whole minutes, at least "
                               f"{MIN_BUILD_TIMEOUT} (the build-timeout plugin raises shorter timeouts to "
                               f"{MIN_BUILD_TIMEOUT})")
    kind, _, value = namespace.partition(":")
    if kind not in tuple(NamespaceKind) or not value:
        raise EnvDeliveryError(f"--namespace {namespace!r}: expected folder:NAME or prefix:NAME-")
    lines = []
    for spec in releases:
        line, sep, branch = spec.partition("=")
        if not sep or not line or not branch:
            raise EnvDeliveryError(f"--release {spec!r}: expected NAME=BRANCH")
        lines.append((line, branch))
    if not lines:
        raise EnvDeliveryError("a project scope needs at least one --release NAME=BRANCH")
    return team_scope(name, Namespace(kind, value), lines, root_folder, build_timeout, jobs_dir, workdir,
                      policy=policy, limits=limits)
