"""The root scope of the example organisation, read back from its XML.

Element names and layouts checked here are the Jenkins plugins' config.xml formats:
core's SCMTrigger, TimerTrigger, ReverseBuildTrigger (upstreamProjects is a
comma-separated list, threshold a hudson.model.Result), TextParameterDefinition and
ListView (includeRegex, recurse); the git plugin's GitSCM with the PathRestriction
extension (includedRegions, one regex per line); credentials-binding's
SecretBuildWrapper with a FileBinding (credentialsId, variable); copyartifact's
CopyArtifact (project, filter, target, selector); cloudbees-folder's Folder; the
delivery-pipeline plugin's DeliveryPipelineView with ComponentSpec (name, firstJob).

The tests of issue 13 (git credentials, provider credentials, build timeouts, the tool of the
environment jobs) read the XML against the plugins' own fields, cited at the commits listed in
shared/reference/jenkins-plugin-semantics.md §0 (paths under src/main/java/).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery import naming
from jjb_envdelivery.generator import project_context, root_scope_definitions, to_yaml
from jjb_envdelivery.jenkins_names import copy_permitted
from jjb_envdelivery.jjb.pipeline import generate_xml, make_jjb_config
from jjb_envdelivery.model.loader import load_organisation


@pytest.fixture(scope="module")
def org(example_org_dir):
    return load_organisation(example_org_dir)


def render_root(org, directory: Path) -> dict[str, ET.Element]:
    path = directory / "root.yaml"
    path.write_text(to_yaml(root_scope_definitions(org), "test"))
    rendered = generate_xml(make_jjb_config(), [path])
    return {item.name: ET.fromstring(item.output()) for item in rendered.jobs + rendered.views}


@pytest.fixture(scope="module")
def items(org, tmp_path_factory) -> dict[str, ET.Element]:
    return render_root(org, Path(tmp_path_factory.mktemp("root")))


def changed_example(example_org_dir: Path, directory: Path, change) -> dict[str, ET.Element]:
    """The root scope of the example organisation after `change(data)` edits its org file."""
    data = yaml.safe_load((example_org_dir / "delivery.yaml").read_text())
    change(data)
    (directory / "delivery.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return render_root(load_organisation(directory), directory)


def text(element, path):
    found = element.find(path)
    assert found is not None, f"no {path}"
    return found.text or ""


def shell_commands(job):
    return [text(step, "command") for step in job.findall("builders/hudson.tasks.Shell")]


def test_inventory(org, items):
    folders = {"delivery", "platform", "identity", "compute", "network", "storage"}  # portal uses a prefix
    updaters = {"delivery/root-updater", "delivery/drift-check"} | {f"delivery/updater-{p.name}" for p in org.projects}
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
        "--release previous=release/2026.10 --release upcoming=main --root-folder delivery --build-timeout 60 "
        # The job policy the org file grants compute (projects[].allow; the repo's credential with it).
        "--allow-label compute-build --allow-credential compute-registry-push --allow-credential compute-apt-upload "
        "--allow-credential compute-deploy-ssh --allow-credential compute-git-read --updater-label jjb-updater "
        "--updater-credential jjb-updater-config --unknown-classes refuse "
        "--workers 4 --conf \"$JJB_CONF\" ci/jobs"]


def test_prefix_project_updater_bakes_its_prefix(items):
    assert "--namespace prefix:portal-" in shell_commands(items["delivery/updater-portal"])[0]


def test_build_job_triggers(org, items):
    job = items["delivery/env-minimal-current-build"]
    assert text(job, "triggers/hudson.triggers.TimerTrigger/spec") == "H H(0-5) * * *"
    reverse = job.find("triggers/jenkins.triggers.ReverseBuildTrigger")
    upstream = text(reverse, "upstreamProjects").split(",")
    variant = org.environments.variants[0]
    # Absolute ('/' + the full name), for a folder team and the prefix team alike (test_cross_scope.py).
    expected = ["/" + naming.package_job_name(org, service, "current") for service in variant.services]
    assert upstream == expected  # envtool, the provisioning tool, is in the variant already
    assert "/platform/envtool-current-package" in upstream
    assert "/portal-public-api-current-package" in upstream
    assert text(reverse, "threshold/name") == "SUCCESS"
    assert shell_commands(job)[-1] == "jjb-envdelivery env build --org-file delivery.yaml --variant minimal " \
        "--release current"


def test_weekly_variant_keeps_its_schedule_and_lines(items):
    job = items["delivery/env-almost-production-upcoming-build"]
    assert text(job, "triggers/hudson.triggers.TimerTrigger/spec") == "H H(0-5) * * 6"
    assert "delivery/env-almost-production-previous-build" not in items


def test_verify_and_gc_chain(items):
    verify = items["delivery/env-full-previous-verify"]
    reverse = verify.find("triggers/jenkins.triggers.ReverseBuildTrigger")
    assert text(reverse, "upstreamProjects") == "/delivery/env-full-previous-build"
    assert text(reverse, "threshold/name") == "SUCCESS"
    assert shell_commands(verify)[-1].endswith("env verify --org-file delivery.yaml --variant full "
                                               "--release previous --latest")
    gc = items["delivery/env-full-previous-gc"]
    reverse = gc.find("triggers/jenkins.triggers.ReverseBuildTrigger")
    assert text(reverse, "upstreamProjects") == "/delivery/env-full-previous-verify"
    assert text(reverse, "threshold/name") == "FAILURE"  # runs after any completed verify
    assert shell_commands(gc) == [
        "jjb-envdelivery env gc --org-file delivery.yaml --variant full --release previous --keep 3"]


def test_custom_environment_job_is_parameterized(items):
    job = items["delivery/env-custom-upcoming"]
    param = job.find("properties/hudson.model.ParametersDefinitionProperty/parameterDefinitions"
                     "/hudson.model.TextParameterDefinition")
    assert text(param, "name") == "ENV_CONFIG"
    commands = shell_commands(job)
    assert commands[-2] == "printf '%s\\n' \"$ENV_CONFIG\" > env-config.yaml"
    assert commands[-1] == ("jjb-envdelivery env provision --org-file delivery.yaml --release upcoming "
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


# -- issue 13: git credentials (defect 3) -------------------------------------------------------

GIT_REMOTE = "scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig"


def jobs_of(items) -> dict[str, ET.Element]:
    return {name: element for name, element in items.items() if element.tag == "project"}


def test_updaters_and_environment_jobs_clone_with_the_org_files_credentials(org, items):
    """git's UserRemoteConfig has ``credentialsId`` (git-plugin UserRemoteConfig.java:52-55); GitSCM
    looks it up for the checkout and the polling (GitSCM.java:918-960)."""
    jobs = jobs_of(items)
    for name, job in jobs.items():
        remote = job.find(GIT_REMOTE)
        if name.startswith("delivery/updater-"):
            project = org.project(name.removeprefix("delivery/updater-"))
            assert text(remote, "url") == project.repo.url
            assert text(remote, "credentialsId") == f"{project.name}-git-read"
        else:  # the root updater and every environment job check out the jobs repo
            assert text(remote, "url") == org.jobs_repo.url, name
            assert text(remote, "credentialsId") == "platform-git-read", name
    assert len([n for n in jobs if n.startswith("delivery/updater-")]) == len(org.projects)


def test_without_a_credential_no_credentials_id_element_is_written(example_org_dir, tmp_path):
    """An empty ``<credentialsId/>`` loads as "" (XStream runs no constructor) and makes GitSCM log
    'Warning: CredentialId "" could not be found.' on every checkout and poll (GitSCM.java:918-960),
    so a repository without one gets no element at all."""
    def drop_credentials(data):
        data["jobs-repo"].pop("credential-id")
        for project in data["projects"]:
            project["repo"].pop("credential-id")
    jobs = jobs_of(changed_example(example_org_dir, tmp_path, drop_credentials))
    assert jobs
    for name, job in jobs.items():
        remote = job.find(GIT_REMOTE)
        assert remote is not None and remote.find("credentialsId") is None, name


# -- issue 13: build timeouts (defect 5) ----------------------------------------------------------

TIMEOUT = "hudson.plugins.build__timeout."


def test_every_job_fails_after_its_build_timeout(org, items):
    """build-timeout's BuildTimeoutWrapper has the fields ``strategy``, ``operationList`` and
    ``timeoutEnvVar`` (build-timeout-plugin BuildTimeoutWrapper.java:49-66; '_' is '__' in element
    names, not in class= values). AbsoluteTimeOutStrategy's field is ``timeoutMinutes``
    (impl/AbsoluteTimeOutStrategy.java:22); FailOperation has no field and ends the build as
    FAILURE (operations/FailOperation.java:43-62). The legacy elements ``timeoutMinutes`` and
    ``failBuild`` directly under the wrapper are transient and migrated only when ``strategy`` or
    ``operationList`` is missing (BuildTimeoutWrapper.java:216-238), so they must not appear."""
    expected = {"delivery/root-updater": 20, naming.drift_check_name(org): 20}
    expected |= {naming.child_updater_name(org, p): 20 for p in org.projects}
    for variant in org.environments.variants:
        for release in variant.release_lines:
            for stage in naming.ENV_STAGES:
                expected[naming.env_job_name(org, variant.name, release, stage)] = variant.build_timeout
    expected |= {naming.custom_env_job_name(org, line.name): 60 for line in org.release_lines}
    assert {v for k, v in expected.items() if "almost-production" in k} == {240}

    found = {}
    for name, job in jobs_of(items).items():
        (wrapper,) = job.findall(f"buildWrappers/{TIMEOUT}BuildTimeoutWrapper")
        assert [child.tag for child in wrapper] == ["strategy", "operationList"], name
        strategy = wrapper.find("strategy")
        assert strategy.get("class") == "hudson.plugins.build_timeout.impl.AbsoluteTimeOutStrategy"
        assert [child.tag for child in strategy] == ["timeoutMinutes"]
        operations = wrapper.find("operationList")
        assert [(op.tag, len(op)) for op in operations] == [(f"{TIMEOUT}operations.FailOperation", 0)], name
        found[name] = int(text(strategy, "timeoutMinutes"))
    assert found == expected


def test_child_updaters_bake_the_org_wide_timeout_for_the_teams(example_org_dir, tmp_path):
    """A child updater has no org file: its command carries the teams' timeout (the org file's
    build-timeout), while the updater job itself runs under updater.build-timeout."""
    def org_wide_45(data):
        data["build-timeout"] = 45
    job = changed_example(example_org_dir, tmp_path, org_wide_45)["delivery/updater-portal"]
    assert "--root-folder delivery --build-timeout 45 --allow-label portal-build" in shell_commands(job)[0]
    assert text(job, f"buildWrappers/{TIMEOUT}BuildTimeoutWrapper/strategy/timeoutMinutes") == "20"


def test_team_context_carries_the_timeout_and_absolute_copiers(org):
    """copyartifact's CopyArtifactPermissionProperty matches a copier by its name relative to the
    owner's folder or by "/" + its full name, never by its bare full name
    (CopyArtifactPermissionProperty.java:99-133): only the absolute form lets the environment
    jobs copy from a team folder's CI job."""
    (entry,) = project_context(org, org.project("platform"))
    context = entry["defaults"]
    assert context["build-timeout"] == 60
    assert context["envdelivery-copiers"] == "/delivery/*"
    ci_job = "platform/envtool-current-ci"
    for copier in ("delivery/env-minimal-current-build", "delivery/env-custom-current"):
        assert copy_permitted([context["envdelivery-copiers"]], copier, ci_job)
        assert not copy_permitted(["delivery/*"], copier, ci_job)  # the form used before


# -- issue 13: provider credentials bound by ID (defect 4) ----------------------------------------

BINDING = "org.jenkinsci.plugins.credentialsbinding.impl."


def env_job_names(items) -> list[str]:
    return [name for name, job in jobs_of(items).items() if name.startswith("delivery/env-")]


def test_environment_jobs_bind_the_providers_credential(example_org_dir, tmp_path):
    """credentials-binding's SecretBuildWrapper holds ``bindings`` (impl/SecretBuildWrapper.java:57);
    UsernamePasswordMultiBinding binds ``usernameVariable`` and ``passwordVariable``
    (impl/UsernamePasswordMultiBinding.java:48-51) from the credential ``credentialsId``
    (MultiBinding.java:58). The skytap provider reads its user name and token from the variables
    its user-env and token-env settings name, and every environment job binds exactly those."""
    def skytap(data):
        data["environments"]["provider"] = {"name": "skytap", "credential-id": "skytap-api",
                                            "settings": {"base-template": "1234567", "user-env": "ST_USER"}}
    items = changed_example(example_org_dir, tmp_path, skytap)
    names = env_job_names(items)
    assert {name.rsplit("-", 1)[-1] for name in names} >= {"build", "verify", "gc", "current"}
    assert len(names) == 8 * 3 + 3
    for name in names:
        (wrapper,) = items[name].findall(f"buildWrappers/{BINDING}SecretBuildWrapper")
        (binding,) = wrapper.find("bindings")
        assert binding.tag == f"{BINDING}UsernamePasswordMultiBinding", name
        assert {child.tag: child.text for child in binding} == {
            "usernameVariable": "ST_USER", "passwordVariable": "SKYTAP_TOKEN", "credentialsId": "skytap-api"}
    # The updaters bind only their JJB configuration.
    updater = items["delivery/root-updater"].find(f"buildWrappers/{BINDING}SecretBuildWrapper/bindings")
    assert [b.tag for b in updater] == [f"{BINDING}FileBinding"]


def test_the_local_provider_gets_no_binding(items):
    for name in env_job_names(items):
        assert items[name].find(f"buildWrappers/{BINDING}SecretBuildWrapper") is None, name


# -- issue 13: the provisioning tool of the environment jobs (defect 7) ---------------------------

COPY = "hudson.plugins.copyartifact."


def builders_of(job) -> list[tuple[str, object]]:
    """Each builder as (kind, detail): shell commands, copies as their fields and selector."""
    steps = []
    for step in job.find("builders"):
        if step.tag == "hudson.tasks.Shell":
            steps.append(("shell", text(step, "command")))
        elif step.tag == f"{COPY}CopyArtifact":
            selector = step.find("selector")
            steps.append(("copy", {child.tag: child.text or "" for child in step if child.tag != "selector"}
                          | {"selector": selector.get("class").rsplit(".", 1)[-1]}
                          | {f"selector.{child.tag}": child.text for child in selector}))
        else:
            steps.append((step.tag, None))
    return steps


def test_the_build_job_empties_the_tool_directory_copies_a_stable_tool_and_archives_it(org, items):
    """CopyArtifact's fields (copyartifact CopyArtifact.java:132-142): ``excludes``, never
    ``exclude``; StatusBuildSelector ``stable`` true takes SUCCESS builds only, not UNSTABLE ones
    (StatusBuildSelector.java:40-65). ArtifactArchiver archives and fingerprints what the build
    used (core ArtifactArchiver.java:82-121)."""
    build = items["delivery/env-minimal-current-build"]
    steps = builders_of(build)
    assert [kind for kind, _ in steps] == ["shell", "copy", "shell"]
    assert steps[0] == ("shell", "rm -rf .envdelivery/tool")
    assert steps[1][1] == {
        "project": "/platform/envtool-current-ci", "filter": org.environments.provisioning_tool.artifact,
        "target": ".envdelivery/tool", "excludes": "", "flatten": "true", "optional": "false",
        "doNotFingerprintArtifacts": "false", "resultVariableSuffix": "",
        "selector": "StatusBuildSelector", "selector.stable": "true"}
    (archiver,) = build.findall("publishers/hudson.tasks.ArtifactArchiver")
    assert text(archiver, "artifacts") == ".envdelivery/tool/**"
    assert text(archiver, "fingerprint") == "true"
    assert text(archiver, "allowEmptyArchive") == "false"


def test_verify_copies_the_tool_of_the_build_that_triggered_it(items):
    """TriggeredBuildSelector takes the upstream build that caused this one; UseNewest keeps the
    newest when several causes folded into one queued build; fallbackToLastSuccessful covers a
    verify started by hand (copyartifact TriggeredBuildSelector.java:59-99, 200-265). The build
    job's CopyArtifactPermissionProperty must let verify copy (CopyArtifactPermissionProperty.java:99-133)."""
    for variant, release in (("minimal", "current"), ("almost-production", "upcoming")):
        build, verify = (f"delivery/env-{variant}-{release}-{stage}" for stage in ("build", "verify"))
        steps = builders_of(items[verify])
        assert [kind for kind, _ in steps] == ["shell", "copy", "shell"]
        assert steps[0] == ("shell", "rm -rf .envdelivery/tool")
        copy = steps[1][1]
        assert (copy["project"], copy["filter"], copy["target"], copy["flatten"]) == (
            f"/{build}", ".envdelivery/tool/**", ".envdelivery/tool", "true")
        assert (copy["selector"], copy["selector.upstreamFilterStrategy"],
                copy["selector.fallbackToLastSuccessful"]) == ("TriggeredBuildSelector", "UseNewest", "true")
        granted = [s.text for s in items[build].findall(
            f"properties/{COPY}CopyArtifactPermissionProperty/projectNameList/string")]
        assert granted == [f"/{verify}"]
        assert copy_permitted(granted, verify, build)
        assert not copy_permitted(granted, f"delivery/env-full-{release}-verify", build)


def test_custom_jobs_copy_a_stable_tool_and_gc_copies_none(items):
    for release in ("current", "previous", "upcoming"):
        steps = builders_of(items[f"delivery/env-custom-{release}"])
        assert [kind for kind, _ in steps] == ["shell", "copy", "shell", "shell"]
        assert steps[0] == ("shell", "rm -rf .envdelivery/tool")
        assert steps[1][1]["project"] == f"/platform/envtool-{release}-ci"
        assert (steps[1][1]["selector"], steps[1][1]["selector.stable"]) == ("StatusBuildSelector", "true")
    for name in env_job_names(items):
        if name.endswith("-gc"):
            assert [kind for kind, _ in builders_of(items[name])] == ["shell"], name
