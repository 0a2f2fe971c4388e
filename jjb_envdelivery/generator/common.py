"""Pieces every generated job shares: plain JJB job data, no XML."""

from __future__ import annotations

from ..model.organisation import GitRepo
from ..naming import absolute

BUILDS_TO_KEEP = 30


def job(name: str, description: str, **contents) -> dict:
    """A top-level JJB ``job`` entry. ``disabled`` is always explicit: JJB re-uploads jobs
    without it on every run (see jjb-internals.md, "fix_disabled poisons the md5")."""
    body = {"name": name, "description": description, "disabled": False}
    body.update({key.replace("_", "-"): value for key, value in contents.items()})
    return {"job": body}


def delivery_job(name: str, description: str, *, node: str, scm: list, triggers: list, builders: list,
                 build_timeout: int, wrappers: tuple = (), properties: tuple = (), **extra) -> dict:
    """The shape every root-scope job shares: one build at a time on a labelled agent, a
    build discarder, timestamps, and a timeout that fails the build."""
    return job(name, description, node=node, concurrent=False, properties=[*keep_builds(), *properties], scm=scm,
               triggers=triggers, wrappers=["timestamps", timeout(build_timeout), *wrappers], builders=builders,
               **extra)


def timeout(minutes: int) -> dict:
    """JJB's ``timeout`` wrapper: the build-timeout plugin's absolute strategy, failing (not
    aborting) the build, so that a hung build shows red and its downstream jobs do not run."""
    return {"timeout": {"type": "absolute", "timeout": minutes, "fail": True}}


def folder(name: str, description: str) -> dict:
    return {"job": {"name": name, "project-type": "folder", "description": description}}


def git_scm(repo: GitRepo, branch: str | None = None, included_regions: list[str] | None = None) -> list[dict]:
    options = {"url": repo.url, "branches": [branch or repo.branch], "wipe-workspace": False}
    # No credential, no element: an empty <credentialsId/> logs a warning on every checkout
    # (git-plugin GitSCM.java:918-960).
    if repo.credential_id:
        options["credentials-id"] = repo.credential_id
    if included_regions:
        options["included-regions"] = included_regions
    return [{"git": options}]


def keep_builds(count: int = BUILDS_TO_KEEP) -> list[dict]:
    return [{"build-discarder": {"num-to-keep": count}}]


def reverse_trigger(jobs: list[str], result: str = "success") -> dict:
    """Core's ReverseBuildTrigger on the jobs of these full names, written absolute
    (``naming.absolute``)."""
    return {"reverse": {"jobs": [absolute(name) for name in jobs], "result": result}}
