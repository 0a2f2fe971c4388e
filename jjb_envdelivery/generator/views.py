"""Views: one list view per project and per release line, one delivery pipeline view per
release line."""

from __future__ import annotations

from .. import naming
from ..model.organisation import CI_PIPELINE, Organisation, Project

_REGEX_SPECIAL = set("\\.^$|?*+()[]{}")


def java_regex_escape(text: str) -> str:
    """Escape the characters java.util.regex treats as special (and nothing else, so names stay readable)."""
    return "".join(f"\\{c}" if c in _REGEX_SPECIAL else c for c in text)


def project_view(org: Organisation, project: Project) -> dict:
    prefix = java_regex_escape(project.namespace.job_prefix)
    updater = java_regex_escape(naming.child_updater_name(org, project))
    return {"view": {
        "name": naming.project_view_name(project),
        "view-type": "list",
        "description": f"Jobs of project {project.name} and its updater.",
        "recurse": True,
        "regex": f"{prefix}.*|{updater}",
    }}


def release_view(org: Organisation, release: str) -> dict:
    stages = "|".join(naming.SERVICE_STAGES)
    root = java_regex_escape(org.root_folder)
    return {"view": {
        "name": naming.release_view_name(release),
        "view-type": "list",
        "description": f"Every service and environment job of release line {release}.",
        "recurse": True,
        "regex": f".*-{java_regex_escape(release)}-({stages})|{root}/env-.*-{java_regex_escape(release)}-.*"
                 f"|{root}/env-custom-{java_regex_escape(release)}",
    }}


def pipeline_view(org: Organisation, release: str) -> dict:
    components = []
    for project in org.projects:
        # The view follows freestyle jobs only (AbstractProject, ProjectUtil.java:126-128): a
        # Pipeline CI job would make it show nothing, so those services start at their package job.
        first = "package" if project.ci == CI_PIPELINE else "ci"
        for service in project.services:
            components.append({"name": service,
                               "initial-job": naming.service_job_name(project.namespace, service, release, first)})
    if org.environments:
        for variant in org.environments.variants:
            if release in variant.release_lines:
                components.append({"name": f"environment {variant.name}",
                                   "initial-job": naming.env_job_name(org, variant.name, release, "build")})
    return {"view": {
        "name": naming.pipeline_view_name(release),
        "view-type": "delivery_pipeline",
        "description": f"Check-in to delivered artifact to environment template, release line {release}.",
        "components": components,
        "no-of-pipelines": 3,
        "show-aggregated-pipeline": True,
        "link-to-console-log": True,
    }}
