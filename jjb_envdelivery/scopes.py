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
from .model.organisation import Namespace, Organisation, Project

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
    generated.write_text(generator.to_yaml(generator.root_scope(org), f"Root scope of {org.name}"),
                         encoding="utf-8")
    return Scope(ROOT, None, (generated,))


def project_scope(org: Organisation, project: Project, workdir: Path, jobs_dir: Path) -> Scope:
    """`jobs_dir` is the project's jobs path inside a checkout of its repository."""
    if not jobs_dir.is_dir():
        raise EnvDeliveryError(
            f"project {project.name}: no job YAML directory at {jobs_dir} "
            f"(jobs-path {project.jobs_path!r} in a checkout of {project.repo.url})"
        )
    context = workdir / f"context-{project.name}.yaml"
    context.write_text(
        generator.to_yaml(generator.project_context(org, project), f"Context of project {project.name}"),
        encoding="utf-8",
    )
    return Scope(project.name, project.namespace, (context, shipped_templates_dir(), jobs_dir))


def local_jobs_dir(project: Project) -> Path | None:
    """The project's jobs directory in its local checkout, if the org file names one."""
    if project.repo.local_checkout is None:
        return None
    return project.repo.local_checkout / project.jobs_path
