"""Pieces every generated job shares: plain JJB job data, no XML."""

from __future__ import annotations

from ..model.organisation import GitRepo

BUILDS_TO_KEEP = 30


def job(name: str, description: str, **contents) -> dict:
    """A top-level JJB ``job`` entry. ``disabled`` is always explicit: JJB re-uploads jobs
    without it on every run (see jjb-internals.md, "fix_disabled poisons the md5")."""
    body = {"name": name, "description": description, "disabled": False}
    body.update({key.replace("_", "-"): value for key, value in contents.items()})
    return {"job": body}


def delivery_job(name: str, description: str, *, node: str, scm: list, triggers: list, builders: list,
                 wrappers: tuple = (), **extra) -> dict:
    """The shape every root-scope job shares: one build at a time on a labelled agent, a
    build discarder, timestamps."""
    return job(name, description, node=node, concurrent=False, properties=keep_builds(), scm=scm,
               triggers=triggers, wrappers=["timestamps", *wrappers], builders=builders, **extra)


def folder(name: str, description: str) -> dict:
    return {"job": {"name": name, "project-type": "folder", "description": description}}


def git_scm(repo: GitRepo, branch: str | None = None, included_regions: list[str] | None = None) -> list[dict]:
    options = {"url": repo.url, "branches": [branch or repo.branch], "wipe-workspace": False}
    if included_regions:
        options["included-regions"] = included_regions
    return [{"git": options}]


def keep_builds(count: int = BUILDS_TO_KEEP) -> list[dict]:
    return [{"build-discarder": {"num-to-keep": count}}]


def reverse_trigger(jobs: list[str], result: str = "success") -> dict:
    return {"reverse": {"jobs": jobs, "result": result}}
