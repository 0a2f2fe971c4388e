"""The root updater and one child updater per project: jobs that produce jobs."""

from __future__ import annotations

from .. import naming, ownership
from ..model.organisation import Organisation, Project
from .common import delivery_job, git_scm

JJB_CONF_VARIABLE = "JJB_CONF"


def _policy(org: Organisation, project: Project) -> dict:
    policy = org.team_policy(project)
    return {
        "agent-labels": list(policy.allow.agent_labels),
        "credentials": list(policy.allow.credentials),
        "upstreams": list(policy.allow.upstreams),
        "classes": [exception.class_name for exception in policy.allow.classes],
        "unknown-classes": policy.unknown_classes,
        "updater-label": policy.updater_label,
        "updater-credential": policy.updater_credential,
    }


def _updater_job(org: Organisation, name: str, description: str, scm: list, update: dict) -> dict:
    return delivery_job(
        name,
        description,
        node=org.updater.label,
        scm=scm,
        triggers=[{"pollscm": {"cron": org.updater.poll}}],
        build_timeout=org.updater.build_timeout,
        # The JJB ini (server URL, user, API token) stays in Jenkins's credential store.
        wrappers=({"credentials-binding": [{"file": {"credential-id": org.updater.credential_id,
                                                     "variable": JJB_CONF_VARIABLE}}]},),
        builders=[{"envdelivery-update": {**update, "conf-variable": JJB_CONF_VARIABLE}}],
    )


def root_updater_job(org: Organisation) -> dict:
    return _updater_job(
        org,
        naming.root_updater_name(org),
        f"Root updater of {org.name}: regenerates itself, the child updaters, the environment "
        f"jobs and the views from {org.org_file.name} in {org.jobs_repo.url}.",
        git_scm(org.jobs_repo),
        {"scope": "root", "org-file": org.org_file.name},
    )


def drift_check_job(org: Organisation) -> dict:
    """Nightly (``updater.drift-check``): every scope's live items compared with git; fails on drift.
    It runs where the updaters run, with their credential, and writes nothing."""
    return delivery_job(
        naming.drift_check_name(org),
        f"Drift check of {org.name}: compares the live configuration of the root scope's and every "
        f"project scope's items with what {org.org_file.name} and the teams' job YAML generate, and "
        "fails listing what differs. Writes nothing; the scope's next `update --refresh` repairs it.",
        node=org.updater.label,
        scm=git_scm(org.jobs_repo),
        triggers=[{"timed": org.updater.drift_check}],
        build_timeout=org.updater.build_timeout,
        wrappers=({"credentials-binding": [{"file": {"credential-id": org.updater.credential_id,
                                                     "variable": JJB_CONF_VARIABLE}}]},),
        builders=[{"envdelivery-drift-check": {"org-file": org.org_file.name, "conf-variable": JJB_CONF_VARIABLE}}],
    )


def child_updater_job(org: Organisation, project: Project) -> dict:
    return _updater_job(
        org,
        naming.child_updater_name(org, project),
        f"Child updater of project {project.name}: regenerates the jobs in namespace "
        f"{project.namespace} from {project.jobs_path}/ in {project.repo.url}."
        # Which scope it manages, for the root: when this job goes, the scope's items go too.
        + ownership.manages_mark(project.name, str(project.namespace), project.renamed_from),
        # Only changes to the team's job YAML start it, not every commit to the service.
        git_scm(project.repo, included_regions=[f"{project.jobs_path}/.*"]),
        {
            "scope": project.name,
            "namespace": str(project.namespace),
            "releases": {line.name: line.branch for line in org.release_lines},
            "jobs-path": project.jobs_path,
            "root-folder": org.root_folder,
            # The org-wide default for the team's jobs; the updater itself has its own above.
            "build-timeout": org.build_timeout,
            # What the job policy lets the team's jobs use: the child has no org file.
            "policy": _policy(org, project),
            **({"limits": dict(org.limits)} if org.limits else {}),
            # A renamed project's scope takes over the items its former scope owns in its namespace.
            **({"adopt-from": project.renamed_from} if project.renamed_from else {}),
        },
    )
