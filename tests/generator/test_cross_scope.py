"""The root scope and the teams' scopes fit together: every job the root scope's jobs and
views name exists in some scope, and copies are granted by the job copied from.

Names are resolved as Jenkins resolves them (``Jenkins.getItem``: relative to the job's folder,
``/`` absolute, then the full name; core Jenkins.java:3050-3092) and grants matched as
copyartifact matches them (CopyArtifactPermissionProperty.java:99-133), through
``jenkins_names``."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from jjb_envdelivery.jenkins_names import ItemIndex, copy_permitted
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
