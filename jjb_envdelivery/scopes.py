"""Scopes: what one updater owns and which YAML it renders.

The root scope is the platform team's: its YAML is generated from the org file. A project
scope is a team's: the generated context, the shipped templates and the team's own YAML.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import generator
from .data_dirs import shipped_templates_dir
from .errors import EnvDeliveryError
from .model.organisation import (
    DEFAULT_BUILD_TIMEOUT,
    MIN_BUILD_TIMEOUT,
    Namespace,
    NamespaceKind,
    Organisation,
    Project,
)

ROOT = "root"


@dataclass(frozen=True)
class Scope:
    name: str
    # None for the root scope: it may write its own folder, the project folders and views.
    namespace: Namespace | None
    yaml_paths: tuple[Path, ...]

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
                      org.root_folder, org.build_timeout, jobs_dir, workdir)


def team_scope(name: str, namespace: Namespace, releases: list[tuple[str, str]], root_folder: str,
               build_timeout: int, jobs_dir: Path, workdir: Path) -> Scope:
    """A team's scope: its generated context, the shipped templates, then its own YAML."""
    if not jobs_dir.is_dir():
        raise EnvDeliveryError(f"scope {name}: no job YAML directory at {jobs_dir}")
    context = workdir / f"context-{name}.yaml"
    context.write_text(
        generator.to_yaml(generator.context_defaults(name, namespace, releases, root_folder, build_timeout),
                          f"Context of project {name}"),
        encoding="utf-8",
    )
    return Scope(name, namespace, (context, shipped_templates_dir(), jobs_dir))


def local_jobs_dir(project: Project) -> Path | None:
    """The project's jobs directory in its local checkout, if the org file names one."""
    if project.repo.local_checkout is None:
        return None
    return project.repo.local_checkout / project.jobs_path


def project_scope_from_args(name: str, namespace: str, releases: list[str], root_folder: str,
                            jobs_dir: Path, workdir: Path, build_timeout: int = DEFAULT_BUILD_TIMEOUT) -> Scope:
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
    return team_scope(name, Namespace(kind, value), lines, root_folder, build_timeout, jobs_dir, workdir)
