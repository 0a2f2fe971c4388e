"""The names of generated jobs and views, in one place.

The shipped job-templates produce the service job names below; the generator's
environment jobs trigger on them, so the two must agree (a test checks that they do).
"""

from __future__ import annotations

from .model.organisation import Namespace, Organisation, Project

SERVICE_STAGES = ("ci", "package", "deliver")
ENV_STAGES = ("build", "verify", "gc")


def absolute(full_name: str) -> str:
    """How a generated job names another: ``/`` + its full name. Jenkins resolves a name without
    the ``/`` relative to the naming job's folder first (core Jenkins.getItem, Jenkins.java:
    3050-3092), so a folder job's bare full name works only through the fallback to the full name,
    and a rename or move in the UI does not rewrite it (Items.computeRelativeNamesAfterRenaming,
    Items.java:330-349), and copyartifact's grants never match a folder job by it
    (CopyArtifactPermissionProperty.java:99-109). An absolute name means the same job from any
    folder, and the rename listeners rewrite it and keep it absolute."""
    return "/" + full_name


def service_job_name(namespace: Namespace, service: str, release: str, stage: str) -> str:
    """``<prefix><service>-<release>-<stage>``: the shipped templates' job names."""
    if stage not in SERVICE_STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    return f"{namespace.job_prefix}{service}-{release}-{stage}"


def package_job_name(org: Organisation, service: str, release: str) -> str:
    return service_job_name(org.owner_of(service).namespace, service, release, "package")


def root_updater_name(org: Organisation) -> str:
    return f"{org.root_folder}/root-updater"


def drift_check_name(org: Organisation) -> str:
    return f"{org.root_folder}/drift-check"


def child_updater_name(org: Organisation, project: Project) -> str:
    return f"{org.root_folder}/updater-{project.name}"


def env_job_name(org: Organisation, variant: str, release: str, stage: str) -> str:
    if stage not in ENV_STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    return f"{org.root_folder}/env-{variant}-{release}-{stage}"


def custom_env_job_name(org: Organisation, release: str) -> str:
    return f"{org.root_folder}/env-custom-{release}"


def project_view_name(project: Project) -> str:
    return f"project-{project.name}"


def release_view_name(release: str) -> str:
    return f"release-{release}"


def pipeline_view_name(release: str) -> str:
    return f"pipeline-{release}"
