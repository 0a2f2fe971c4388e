"""The root scope and the teams' scopes fit together: every job the root scope's jobs and
views name exists in some scope, and copies are granted by the job copied from.

Names are resolved as Jenkins resolves them (``Jenkins.getItem``: relative to the job's folder,
``/`` absolute, then the full name; core Jenkins.java:3050-3092) and grants matched as
copyartifact matches them (CopyArtifactPermissionProperty.java:99-133), through
``jenkins_names``."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from jjb_envdelivery.jenkins_names import (
    ItemIndex,
    canonical_name,
    copy_permitted,
    names_after_renaming,
    parent_of,
    split_names,
)
from jjb_envdelivery.orchestration.checked_render import render_organisation

COPY = "hudson.plugins.copyartifact."


@pytest.fixture(scope="module")
def items(example_org_dir):
    result = render_organisation(example_org_dir)
    return {item.name: ET.fromstring(item.output())
            for scope in result.scopes for item in scope.rendered.jobs + scope.rendered.views}


def referenced_jobs(element):
    for trigger in element.iter("jenkins.triggers.ReverseBuildTrigger"):
        yield from trigger.findtext("upstreamProjects").split(",")
    for copy in element.iter(f"{COPY}CopyArtifact"):
        yield copy.findtext("project")
    for spec in element.iter("se.diabol.jenkins.pipeline.DeliveryPipelineView_-ComponentSpec"):
        yield spec.findtext("firstJob")


FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
VIEWS = {"hudson.model.ListView", "se.diabol.jenkins.pipeline.DeliveryPipelineView"}


@pytest.fixture(scope="module")
def index(items):
    return ItemIndex((name, element.tag == FOLDER) for name, element in items.items() if element.tag not in VIEWS)


def resolve(index, ref: str, job: str) -> str | None:
    found, _ = index.resolve(ref, job)
    return found[0] if found else None


def test_every_referenced_job_exists(items, index):
    dangling = {(name, ref) for name, element in items.items() for ref in referenced_jobs(element)
                if resolve(index, ref, name if element.tag == "project" else "") is None}
    assert dangling == set()


def test_every_copy_is_granted_by_its_source(items, index):
    checked = 0
    for name, element in items.items():
        for copy in element.iter(f"{COPY}CopyArtifact"):
            source = resolve(index, copy.findtext("project"), name)
            granted = [s.text for s in items[source].findall(
                f"properties/{COPY}CopyArtifactPermissionProperty/projectNameList/string")]
            assert copy_permitted(granted, name, source), (name, source, granted)
            checked += 1
    # Every package and deliver job; each environment build and verify job; the custom jobs.
    assert checked == 40 * 3 * 2 + 8 * 2 + 3


def test_environment_build_waits_for_packages_of_its_services(items):
    upstream = items["delivery/env-full-current-build"].find(
        "triggers/jenkins.triggers.ReverseBuildTrigger").findtext("upstreamProjects").split(",")
    assert len(upstream) == 40
    assert all(name.endswith("-current-package") for name in upstream)


# --- names that follow renames and moves (jenkins-plugin-semantics.md §3, §14.8) --------------------


def trigger_and_copy_names(items):
    """(job, field, text as written) of every ReverseBuildTrigger and CopyArtifact of the jobs."""
    for name, element in items.items():
        for trigger in element.iter("jenkins.triggers.ReverseBuildTrigger"):
            yield name, "upstreamProjects", trigger.findtext("upstreamProjects")
        for copy in element.iter(f"{COPY}CopyArtifact"):
            yield name, "project", copy.findtext("project")


def test_every_trigger_and_copy_names_its_job_absolutely(items, index):
    """Of the whole example (the generator's environment jobs and the teams' templated jobs, folder
    teams and the prefix team): every name is '/' + the job's full name, which Jenkins.getItem finds
    from any folder without its fallback to the full name (core Jenkins.java:3054-3055), whose
    canonical name (Items.getCanonicalName, core Items.java:285-315) is the job itself, and which
    a rename of the job or a move of its folder rewrites to the new name, still absolute
    (Items.computeRelativeNamesAfterRenaming, Items.java:330-349, as ReverseBuildTrigger.java:305-330
    and copyartifact's CopyArtifact.java:907-944 call it). Before issue 13's follow-through the folder
    jobs' names were bare full names (test_plugin_semantics.py shows what that does)."""
    counted = {"upstreamProjects": 0, "project": 0}
    for job, field, written in trigger_and_copy_names(items):
        folder = parent_of(job)
        for name in split_names(written):
            assert name.startswith("/"), (job, field, name)
            lookup = index.lookup(name, folder)
            assert lookup.item and not lookup.item[1] and not lookup.by_fallback, (job, field, name)
            target = lookup.item[0]
            assert canonical_name(folder, name) == target, (job, field, name)
            renamed = names_after_renaming(target, f"{target}-new", written, folder).split(",")
            assert f"/{target}-new" in renamed and name not in renamed, (job, field, name)
            top, _, inside = target.partition("/")
            if inside:  # the target's folder renamed, or moved (which only triggers follow: core's
                # onLocationChanged; copyartifact listens to onRenamed); the job goes with it if inside
                for new_top in [f"{top}-new"] + (["teams/" + top] if field == "upstreamProjects" else []):
                    context = new_top + folder[len(top):] if (folder + "/").startswith(top + "/") else folder
                    moved = names_after_renaming(top, new_top, written, context).split(",")
                    assert f"/{new_top}/{inside}" in moved, (job, field, name, new_top)
            counted[field] += 1
    # test_example.py's counts: CI -> package -> deliver, package -> env build (each variant's services
    # and the tool), build -> verify -> gc; copies as in test_every_copy_is_granted_by_its_source.
    assert counted == {"upstreamProjects": 2 * 40 * 3 + 233 + 2 * 8, "project": 40 * 3 * 2 + 8 * 2 + 3}


def test_pipeline_views_name_first_jobs_relative_to_the_root(items, index):
    """The views belong to the root (push writes them there), so a job's full name is its name
    relative to the view's group: found by the walk, no fallback (delivery-pipeline
    ProjectUtil.java:126-128, core Jenkins.java:3057-3088). Kept without '/': the plugin's own rename
    and delete listener compares firstJob with the name it is given as text, the full name on
    delete (DeliveryPipelineView.java:289-310, 828-849), so with a '/' a deleted job's component
    would stay and the whole view would show only 'Could not find project'."""
    first_jobs = [spec.findtext("firstJob") for element in items.values()
                  for spec in element.iter("se.diabol.jenkins.pipeline.DeliveryPipelineView_-ComponentSpec")]
    assert len(first_jobs) == 40 * 3 + 8
    for name in first_jobs:
        lookup = index.lookup(name, "")
        assert not name.startswith("/") and lookup.item == (name, False) and not lookup.by_fallback, name
