"""``demo``: an organisation pushed end to end into a server: bootstrap, then the root scope's
update, then every team's. The CLI starts the Jenkins REST emulator and hands its ini here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..model.organisation import Organisation
from ..push.apply import UpdateReport
from ..scopes import local_jobs_dir, project_scope, root_scope
from .bootstrap import bootstrap
from .update import update_scope


def push_organisation(org: Organisation, conf: Path, workdir: Path, cache_root: Path,
                      say: Callable[[str], None] = print) -> list[UpdateReport]:
    """Bootstrap, the root scope, then each project with a local checkout; one report each."""
    boot = bootstrap(org, conf, workdir, cache_root=cache_root)
    boot.scope = "bootstrap"
    reports = [boot, update_scope(root_scope(org, workdir), conf, cache_root=cache_root)]
    for project in org.projects:
        jobs_dir = local_jobs_dir(project)
        if jobs_dir is None:
            say(f"project {project.name}: no local-checkout, skipped")
            continue
        reports.append(update_scope(project_scope(org, project, workdir, jobs_dir), conf, cache_root=cache_root))
    return reports
