"""The root scope and the teams' scopes fit together: every job the root scope's jobs and
views name exists in some scope, and copies are granted by the job copied from."""

from __future__ import annotations

import fnmatch
import xml.etree.ElementTree as ET

import pytest

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


def test_every_referenced_job_exists(items):
    dangling = {(name, ref) for name, element in items.items() for ref in referenced_jobs(element)
                if ref not in items}
    assert dangling == set()


def test_every_copy_is_granted_by_its_source(items):
    checked = 0
    for name, element in items.items():
        for copy in element.iter(f"{COPY}CopyArtifact"):
            source = items[copy.findtext("project")]
            granted = [s.text for s in source.findall(
                f"properties/{COPY}CopyArtifactPermissionProperty/projectNameList/string")]
            assert any(fnmatch.fnmatchcase(name, pattern) for pattern in granted), (name, granted)
            checked += 1
    # Every package and deliver job; each environment build and verify job; the custom jobs.
    assert checked == 40 * 3 * 2 + 8 * 2 + 3


def test_environment_build_waits_for_packages_of_its_services(items):
    upstream = items["delivery/env-full-current-build"].find(
        "triggers/jenkins.triggers.ReverseBuildTrigger").findtext("upstreamProjects").split(",")
    assert len(upstream) == 40
    assert all(name.endswith("-current-package") for name in upstream)
