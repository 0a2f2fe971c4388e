"""The root scope of the example organisation, read back from its XML.

Element names and layouts checked here are the Jenkins plugins' config.xml formats:
core's SCMTrigger, TimerTrigger, ReverseBuildTrigger (upstreamProjects is a
comma-separated list, threshold a hudson.model.Result), TextParameterDefinition and
ListView (includeRegex, recurse); the git plugin's GitSCM with the PathRestriction
extension (includedRegions, one regex per line); credentials-binding's
SecretBuildWrapper with a FileBinding (credentialsId, variable); copyartifact's
CopyArtifact (project, filter, target, selector); cloudbees-folder's Folder; the
delivery-pipeline plugin's DeliveryPipelineView with ComponentSpec (name, firstJob).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from jjb_envdelivery import naming
from jjb_envdelivery.generator import root_scope_definitions, to_yaml
from jjb_envdelivery.jjb.pipeline import generate_xml, make_jjb_config
from jjb_envdelivery.model.loader import load_organisation


@pytest.fixture(scope="module")
def org(example_org_dir):
    return load_organisation(example_org_dir)


@pytest.fixture(scope="module")
def items(org, tmp_path_factory) -> dict[str, ET.Element]:
    path = Path(tmp_path_factory.mktemp("root")) / "root.yaml"
    path.write_text(to_yaml(root_scope_definitions(org), "test"))
    rendered = generate_xml(make_jjb_config(), [path])
    return {item.name: ET.fromstring(item.output()) for item in rendered.jobs + rendered.views}


def text(element, path):
    found = element.find(path)
    assert found is not None, f"no {path}"
    return found.text or ""


def shell_commands(job):
    return [text(step, "command") for step in job.findall("builders/hudson.tasks.Shell")]


def test_inventory(org, items):
    folders = {"delivery", "platform", "identity", "compute", "network", "storage"}  # portal uses a prefix
    updaters = {"delivery/root-updater"} | {f"delivery/updater-{p.name}" for p in org.projects}
    env_jobs = {n for n in items if n.startswith("delivery/env-")}
    # minimal and full on three lines, almost-production on two; plus one custom job per line.
    assert len(env_jobs) == (3 + 3 + 2) * 3 + 3
    views = {f"project-{p.name}" for p in org.projects} | {
        f"{kind}-{line}" for kind in ("release", "pipeline") for line in ("current", "previous", "upcoming")}
    assert set(items) == folders | updaters | env_jobs | views


def test_folders_are_cloudbees_folders(items):
    for name in ("delivery", "platform", "storage"):
        assert items[name].tag == "com.cloudbees.hudson.plugins.folder.Folder"
    assert "portal" not in items


def test_every_job_sets_disabled_explicitly(items):
    jobs = [e for e in items.values() if e.tag == "project"]
    assert jobs
    assert all(text(job, "disabled") == "false" for job in jobs)


def test_root_updater(items):
    job = items["delivery/root-updater"]
    assert text(job, "assignedNode") == "jjb-updater"
    assert text(job, "concurrentBuild") == "false"
    scm = job.find("scm")
    assert scm.get("class") == "hudson.plugins.git.GitSCM"
    assert text(scm, "userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url") == \
        "https://git.example.com/platform/jenkins-jobs.git"
    assert text(scm, "branches/hudson.plugins.git.BranchSpec/name") == "main"
    assert text(job, "triggers/hudson.triggers.SCMTrigger/spec") == "H/5 * * * *"
    binding = job.find("buildWrappers/org.jenkinsci.plugins.credentialsbinding.impl.SecretBuildWrapper"
                       "/bindings/org.jenkinsci.plugins.credentialsbinding.impl.FileBinding")
    assert text(binding, "credentialsId") == "jjb-updater-config"
    assert text(binding, "variable") == "JJB_CONF"
    assert job.find("buildWrappers/hudson.plugins.timestamper.TimestamperBuildWrapper") is not None
    assert shell_commands(job) == [
        'jjb-envdelivery update --scope root --org-file delivery.yaml --workers 4 --conf "$JJB_CONF"']


def test_child_updater_is_restricted_to_the_jobs_path(items):
    job = items["delivery/updater-compute"]
    scm = job.find("scm")
    assert text(scm, "userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url") == \
        "https://git.example.com/compute/compute.git"
    assert text(scm, "extensions/hudson.plugins.git.extensions.impl.PathRestriction/includedRegions") == \
        "ci/jobs/.*"
    assert text(job, "triggers/hudson.triggers.SCMTrigger/spec") == "H/5 * * * *"
    assert shell_commands(job) == [
        "jjb-envdelivery update --scope compute --namespace folder:compute --release current=release/2026.11 "
        "--release previous=release/2026.10 --release upcoming=main --root-folder delivery --workers 4 "
        "--conf \"$JJB_CONF\" ci/jobs"]


def test_prefix_project_updater_bakes_its_prefix(items):
    assert "--namespace prefix:portal-" in shell_commands(items["delivery/updater-portal"])[0]


def test_build_job_triggers(org, items):
    job = items["delivery/env-minimal-current-build"]
    assert text(job, "triggers/hudson.triggers.TimerTrigger/spec") == "H H(0-5) * * *"
    reverse = job.find("triggers/jenkins.triggers.ReverseBuildTrigger")
    upstream = text(reverse, "upstreamProjects").split(",")
    variant = org.environments.variants[0]
    expected = [naming.package_job_name(org, service, "current") for service in variant.services]
    assert upstream == expected  # envtool, the provisioning tool, is in the variant already
    assert "platform/envtool-current-package" in upstream
    assert "portal-public-api-current-package" in upstream
    assert text(reverse, "threshold/name") == "SUCCESS"
    copy = job.find("builders/hudson.plugins.copyartifact.CopyArtifact")
    assert text(copy, "project") == "platform/envtool-current-ci"
    assert text(copy, "filter") == "dist/envtool-*.tar.gz"
    assert copy.find("selector").get("class") == "hudson.plugins.copyartifact.StatusBuildSelector"
    assert shell_commands(job) == [
        "jjb-envdelivery env build --org-file delivery.yaml --variant minimal --release current"]


def test_weekly_variant_keeps_its_schedule_and_lines(items):
    job = items["delivery/env-almost-production-upcoming-build"]
    assert text(job, "triggers/hudson.triggers.TimerTrigger/spec") == "H H(0-5) * * 6"
    assert "delivery/env-almost-production-previous-build" not in items


def test_verify_and_gc_chain(items):
    verify = items["delivery/env-full-previous-verify"]
    reverse = verify.find("triggers/jenkins.triggers.ReverseBuildTrigger")
    assert text(reverse, "upstreamProjects") == "delivery/env-full-previous-build"
    assert text(reverse, "threshold/name") == "SUCCESS"
    assert shell_commands(verify)[-1].endswith("env verify --org-file delivery.yaml --variant full "
                                               "--release previous --latest")
    gc = items["delivery/env-full-previous-gc"]
    reverse = gc.find("triggers/jenkins.triggers.ReverseBuildTrigger")
    assert text(reverse, "upstreamProjects") == "delivery/env-full-previous-verify"
    assert text(reverse, "threshold/name") == "FAILURE"  # runs after any completed verify
    assert shell_commands(gc) == [
        "jjb-envdelivery env gc --org-file delivery.yaml --variant full --release previous --keep 3"]


def test_custom_environment_job_is_parameterized(items):
    job = items["delivery/env-custom-upcoming"]
    param = job.find("properties/hudson.model.ParametersDefinitionProperty/parameterDefinitions"
                     "/hudson.model.TextParameterDefinition")
    assert text(param, "name") == "ENV_CONFIG"
    commands = shell_commands(job)
    assert commands[0] == "printf '%s\\n' \"$ENV_CONFIG\" > env-config.yaml"
    assert commands[1] == ("jjb-envdelivery env provision --org-file delivery.yaml --release upcoming "
                           "--config env-config.yaml")


def test_list_views(items):
    view = items["project-portal"]
    assert view.tag == "hudson.model.ListView"
    assert text(view, "includeRegex") == "portal-.*|delivery/updater-portal"
    assert text(view, "recurse") == "true"
    release = items["release-previous"]
    assert text(release, "includeRegex") == (
        ".*-previous-(ci|package|deliver)|delivery/env-.*-previous-.*|delivery/env-custom-previous")


def test_delivery_pipeline_view(org, items):
    view = items["pipeline-upcoming"]
    assert view.tag == "se.diabol.jenkins.pipeline.DeliveryPipelineView"
    specs = view.findall("componentSpecs/se.diabol.jenkins.pipeline.DeliveryPipelineView_-ComponentSpec")
    first_jobs = [text(spec, "firstJob") for spec in specs]
    assert len(specs) == 40 + 3
    assert first_jobs[0] == "platform/envtool-upcoming-ci"
    assert "portal-web-ui-upcoming-ci" in first_jobs
    assert first_jobs[-1] == "delivery/env-almost-production-upcoming-build"


def test_no_secret_material_in_root_scope(items):
    blob = b"".join(ET.tostring(e) for e in items.values()).lower()
    for word in (b"password", b"apitoken", b"api_token", b"secret="):
        assert word not in blob
