"""The shipped job-templates read as the plugins read them (issue 13, defects 1, 2, 5, 6, 11).

Citations are to the snapshots of shared/reference/jenkins-plugin-semantics.md §0: core =
jenkinsci/jenkins@ff9430ee1dc6 core/src/main/java/; copyartifact = copyartifact-plugin@937817258df3,
bto = build-timeout-plugin@79b2549c3c9a, git = git-plugin@add6e4dc74e6 (each src/main/java/).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.data_dirs import shipped_templates_dir
from jjb_envdelivery.jenkins_names import (
    ItemIndex,
    canonical_name,
    copy_permitted,
    names_after_renaming,
    parent_of,
)
from jjb_envdelivery.jjb.pipeline import generate_xml, make_jjb_config

FIXTURES = Path(__file__).with_name("fixtures")
COPY = "hudson.plugins.copyartifact."
BTO = "hudson.plugins.build__timeout."
# Fixtures of both namespace kinds: a folder team ('payments/') and prefix teams ('portal-').
FOLDER_SCENARIOS = ["service", "ci", "package", "deliver", "pipeline-service"]
PREFIX_SCENARIOS = ["prefix-deb", "python-repository"]
# The fixtures that use the job-group envdelivery-service: CI, package and deliver together.
GROUP_SCENARIOS = {"service", "prefix-deb", "python-repository", "pipeline-service"}


def render(*paths: Path) -> dict[str, ET.Element]:
    scope = generate_xml(make_jjb_config(), [shipped_templates_dir(), *paths])
    return {job.name: ET.fromstring(job.output()) for job in scope.jobs}


def fixture_entries(name: str) -> tuple[dict, dict]:
    """The fixture's generator context (`defaults: envdelivery`) and its project."""
    entries = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    context = next(e["defaults"] for e in entries if "defaults" in e)
    project = next(e["project"] for e in entries if "project" in e)
    return context, project


# --- defect 1: copy grants that match in folders -------------------------------------------


def granted(job: ET.Element) -> list[str] | None:
    prop = job.find(f"properties/{COPY}CopyArtifactPermissionProperty")
    if prop is None:
        return None
    return [s.text or "" for s in prop.findall("projectNameList/string")]


def environment_copier(context: dict, release: str) -> str:
    """An environment job of the root scope, as the generator names them (root folder/env-...)."""
    pattern = context["envdelivery-copiers"]
    assert pattern.startswith("/") and pattern.endswith("/*"), pattern
    return f"{pattern[1:-2]}/env-minimal-{release}-build"


@pytest.mark.parametrize("scenario", FOLDER_SCENARIOS + PREFIX_SCENARIOS)
def test_every_copy_is_permitted_by_its_source(scenario):
    """copyartifact checks, for a build that runs as SYSTEM (no QueueItemAuthenticator), the source
    job's CopyArtifactPermissionProperty (CopyArtifact.java:580-617). It matches the copier by its
    name relative to the source's folder, or by '/' + its full name (CopyArtifactPermissionProperty
    .java:99-109, 118-133; jenkins_names.copy_permitted), never by its bare full name: a grant of
    'payments/billing-api-current-package' matches nothing, and the copy aborts with "Unable to
    find project for artifact copy" (CopyArtifact.java:490-491)."""
    jobs = render(FIXTURES / f"{scenario}.yaml")
    index = ItemIndex([(name, False) for name in jobs])
    pairs = 0
    for copier, job in jobs.items():
        for step in job.findall(f"builders/{COPY}CopyArtifact"):
            # The project is resolved from the copier's folder (CopyArtifact.java:455-456).
            found, tried = index.resolve(step.findtext("project"), copier)
            if found is None:
                continue  # its source is rendered by another fixture
            source = found[0]
            allowed = granted(jobs[source])
            assert allowed is not None, f"{source} grants no copies, yet {copier} copies from it"
            assert copy_permitted(allowed, copier, source), (copier, source, allowed)
            pairs += 1
    # Where the fixture renders the whole service group, every package and deliver job copies.
    if scenario in GROUP_SCENARIOS:
        assert pairs == 2 * len(jobs) // 3


@pytest.mark.parametrize("scenario", FOLDER_SCENARIOS + PREFIX_SCENARIOS)
def test_environment_jobs_may_copy_ci_artifacts(scenario):
    """The root scope's environment jobs copy the provisioning tool from a CI job; its grant
    `envdelivery-copiers` (the context's) must match them from the CI job's folder."""
    context, _ = fixture_entries(scenario)
    jobs = render(FIXTURES / f"{scenario}.yaml")
    ci_jobs = {name: job for name, job in jobs.items() if name.endswith("-ci")}
    assert ci_jobs or scenario in ("package", "deliver")
    for name, job in ci_jobs.items():
        release = name.rsplit("-", 2)[1]
        assert copy_permitted(granted(job), environment_copier(context, release), name), granted(job)


@pytest.mark.parametrize("scenario", FOLDER_SCENARIOS + PREFIX_SCENARIOS)
def test_grants_name_the_neighbour_job_absolutely(scenario):
    """The absolute form works from any folder depth (jenkins-plugin-semantics.md §5.3)."""
    context, _ = fixture_entries(scenario)
    for name, job in render(FIXTURES / f"{scenario}.yaml").items():
        stem, kind = name.rsplit("-", 1)
        expected = {"ci": [f"/{stem}-package", context["envdelivery-copiers"]], "package": [f"/{stem}-deliver"],
                    "deliver": None}[kind]
        assert granted(job) == expected, name


def test_a_folder_grant_in_the_old_form_would_not_match():
    # The check above is the plugin's rule, not a tautology: yesterday's grants fail it.
    owner = "payments/billing-api-current-ci"
    assert not copy_permitted(["payments/billing-api-current-package", "delivery/*"],
                              "payments/billing-api-current-package", owner)
    assert not copy_permitted(["delivery/*"], "delivery/env-minimal-current-build", owner)
    assert copy_permitted(["/payments/billing-api-current-package"], "payments/billing-api-current-package", owner)
    assert parent_of(owner) == "payments"


# --- job names that follow renames: triggers and copies absolute (jenkins-plugin-semantics.md §3, §14.8)


UPSTREAM_STAGE = {"package": "ci", "deliver": "package"}


def references(job: ET.Element) -> list[tuple[str, str]]:
    """(field, text as written) of the job's ReverseBuildTrigger and CopyArtifact steps."""
    found = [("upstreamProjects", t.findtext("upstreamProjects") or "")
             for t in job.findall("triggers/jenkins.triggers.ReverseBuildTrigger")]
    return found + [("project", s.findtext("project") or "") for s in job.findall(f"builders/{COPY}CopyArtifact")]


@pytest.mark.parametrize("scenario", FOLDER_SCENARIOS + PREFIX_SCENARIOS)
def test_triggers_and_copies_name_their_upstream_absolutely(scenario):
    """Core and copyartifact read a job name from the naming job's folder (Jenkins.getItem, core
    Jenkins.java:3050-3092, via ReverseBuildTrigger.java:173 and CopyArtifact.java:455-456): from
    folder 'payments' the bare 'payments/billing-api-current-ci' means
    'payments/payments/billing-api-current-ci' and is found only by the fallback to the full name
    (:3090-3091). On a rename or move, ReverseBuildTrigger (ReverseBuildTrigger.java:305-330, every
    rename or move) and CopyArtifact (CopyArtifact.java:907-944, renames) rewrite the stored names
    with Items.computeRelativeNamesAfterRenaming (core Items.java:330-349), which reads each name
    through Items.getCanonicalName (:285-315): a leading '/' drops the folder (:295-298) and stays on
    the rewritten name (:339-340); the bare full name canonicalises to a job that does not exist and
    is left as it was."""
    for name, job in render(FIXTURES / f"{scenario}.yaml").items():
        stem, kind = name.rsplit("-", 1)
        if kind == "ci":
            assert references(job) == [], name
            continue
        upstream, folder = f"{stem}-{UPSTREAM_STAGE[kind]}", parent_of(name)
        written = "/" + upstream
        assert references(job) == [("upstreamProjects", written), ("project", written)], name
        lookup = ItemIndex([(upstream, False)]).lookup(written, folder)
        assert lookup.item == (upstream, False) and not lookup.by_fallback
        assert canonical_name(folder, written) == upstream
        # The upstream job renamed.
        assert names_after_renaming(upstream, f"{upstream}-new", written, folder) == f"/{upstream}-new"
        if folder:
            # The team's folder renamed (the listeners run with the job already in it), and moved,
            # which only the trigger follows (core's onLocationChanged; copyartifact listens to onRenamed).
            inside = upstream[len(folder):]
            assert names_after_renaming(folder, f"{folder}-new", written, f"{folder}-new") == f"/{folder}-new{inside}"
            assert names_after_renaming(folder, f"teams/{folder}", written, f"teams/{folder}") == f"/teams/{upstream}"


def test_a_bare_full_name_in_a_folder_would_not_follow_a_rename():
    # The check above is the core's rule, not a tautology: yesterday's names fail it.
    upstream, written = "payments/billing-api-current-ci", "payments/billing-api-current-ci"
    assert canonical_name("payments", written) == "payments/payments/billing-api-current-ci"
    assert ItemIndex([(upstream, False)]).lookup(written, "payments").by_fallback
    assert names_after_renaming(upstream, "payments/billing-current-ci", written, "payments") == written
    assert names_after_renaming("payments", "teams/payments", written, "teams/payments") == written


# --- defects 6 and 11: the copy steps ----------------------------------------------------------


@pytest.mark.parametrize("scenario", FOLDER_SCENARIOS + PREFIX_SCENARIOS)
def test_fetch_copies_the_newest_triggering_build(scenario):
    """TriggeredBuildSelector keeps the oldest or the newest upstream build among the causes
    (TriggeredBuildSelector.java:244-251); without upstreamFilterStrategy the global setting
    applies, UseOldest by default (:168-185, :271-275), so of two CI builds folded into one queued
    package build the older would be packaged. The plugin's field is `excludes`
    (CopyArtifact.java:137); an empty <parameters/> still filters by parameters (:493)."""
    for name, job in render(FIXTURES / f"{scenario}.yaml").items():
        for step in job.findall(f"builders/{COPY}CopyArtifact"):
            assert step.find("selector").get("class") == f"{COPY}TriggeredBuildSelector", name
            assert step.findtext("selector/upstreamFilterStrategy") == "UseNewest", name
            assert step.findtext("selector/fallbackToLastSuccessful") == "true", name
            assert step.find("exclude") is None and step.find("excludes") is not None, name
            assert step.find("parameters") is None, name


# --- defect 2: node -------------------------------------------------------------------------


def project_yaml(tmp_path: Path, scenario: str, **extra) -> Path:
    """A fixture with its project changed (e.g. node added)."""
    entries = yaml.safe_load((FIXTURES / f"{scenario}.yaml").read_text())
    for entry in entries:
        if "project" in entry:
            entry["project"].update(extra)
    path = tmp_path / f"{scenario}.yaml"
    path.write_text(yaml.safe_dump(entries, sort_keys=False))
    return path


TEMPLATE_SCENARIOS = {"envdelivery-ci": "ci", "envdelivery-package": "package", "envdelivery-deliver": "deliver"}


@pytest.mark.parametrize("template", sorted(TEMPLATE_SCENARIOS))
def test_node_routes_the_job(template, tmp_path):
    """AbstractProject reads `assignedNode` (a label expression) and `canRoam`
    (core hudson/model/AbstractProject.java:190, 199): canRoam true = any agent; canRoam false
    with assignedNode null = the built-in node (:388-394). JJB writes assignedNode and
    canRoam=false for a non-empty `node`, canRoam=true otherwise (jjb6.5.0 modules/general.py:182-188)."""
    jobs = render(project_yaml(tmp_path, TEMPLATE_SCENARIOS[template], node="docker-builders"))
    assert jobs
    for name, job in jobs.items():
        assert job.findtext("assignedNode") == "docker-builders", name
        assert job.findtext("canRoam") == "false", name
    for name, job in render(FIXTURES / f"{TEMPLATE_SCENARIOS[template]}.yaml").items():
        assert job.find("assignedNode") is None, name
        assert job.findtext("canRoam") == "true", name


def test_node_of_the_service_group():
    for name, job in render(FIXTURES / "service.yaml").items():
        assert (job.findtext("assignedNode"), job.findtext("canRoam")) == ("docker-builders", "false"), name


class DuplicateKeyLoader(yaml.SafeLoader):
    """YAML's spec forbids duplicate keys; PyYAML (and so JJB) silently keeps the last one."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"duplicate key {key!r} (first at line {seen[key] + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


DuplicateKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, DuplicateKeyLoader.construct_mapping)


def test_duplicate_key_loader_finds_duplicates():
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key 'node'"):
        yaml.load("- job-template:\n    node: '{node}'\n    name: x\n    node: ''\n", Loader=DuplicateKeyLoader)


@pytest.mark.parametrize("path", sorted(shipped_templates_dir().glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_templates_have_no_duplicate_keys(path):
    assert yaml.load(path.read_text(), Loader=DuplicateKeyLoader) is not None


# --- defect 5: build timeouts ----------------------------------------------------------------

# BuildTimeoutWrapper's fields (bto hudson/plugins/build_timeout/BuildTimeoutWrapper.java:49-66);
# timeoutMinutes, failBuild, writingDescription, timeoutType, timeoutPercentage under the wrapper
# are transient legacy fields (:56-64, :329-337), migrated only when strategy or operationList is
# null (:216-238).
TIMEOUT_FIELDS = {"strategy", "operationList", "timeoutEnvVar"}


def expected_timeout(scenario: str) -> int:
    """The project's build-timeout, else the org-wide default in the fixture's context."""
    context, project = fixture_entries(scenario)
    return int(project.get("build-timeout", context["build-timeout"]))


@pytest.mark.parametrize("scenario", FOLDER_SCENARIOS + PREFIX_SCENARIOS)
def test_every_job_fails_after_its_timeout(scenario):
    minutes = expected_timeout(scenario)
    for name, job in render(FIXTURES / f"{scenario}.yaml").items():
        if job.tag == "flow-definition":
            continue  # a Pipeline's timeout is its Jenkinsfile's (test_pipeline_templates.py)
        wrappers = job.findall(f"buildWrappers/{BTO}BuildTimeoutWrapper")
        assert len(wrappers) == 1, name
        wrapper = wrappers[0]
        # The class comes from the element name; `plugin=` is written by Jenkins on save and read
        # only by the plugin manager's prevalidateConfig (core hudson/util/RobustReflectionConverter
        # .java:199-209, hudson/PluginManager.java:2298-2320), so JJB's element without it is complete.
        assert {child.tag for child in wrapper} <= TIMEOUT_FIELDS, name
        strategy = wrapper.find("strategy")
        # Absolute strategy: a String of minutes, parsed at build time, at least 3
        # (impl/AbsoluteTimeOutStrategy.java:22, 36-46).
        assert strategy.get("class") == "hudson.plugins.build_timeout.impl.AbsoluteTimeOutStrategy", name
        assert [child.tag for child in strategy] == ["timeoutMinutes"], name
        assert int(strategy.findtext("timeoutMinutes")) == minutes, name
        # An empty operationList aborts (BuildTimeoutWrapper.java:133-137); FailOperation fails.
        assert [op.tag for op in wrapper.find("operationList")] == [f"{BTO}operations.FailOperation"], name


def test_project_overrides_the_org_timeout():
    assert expected_timeout("service") == 90 and expected_timeout("ci") == 60


# --- git credentials (jenkins-plugin-semantics.md §14.6) --------------------------------------


@pytest.mark.parametrize("scenario", ["service", "ci", "prefix-deb", "python-repository"])
def test_ci_checkout_credential_only_when_given(scenario):
    """git's UserRemoteConfig.credentialsId: "" is looked up and logs 'CredentialId "" could not
    be found' on every checkout and poll (git hudson/plugins/git/GitSCM.java:918-936, 947-960)."""
    _, project = fixture_entries(scenario)
    given = project.get("git-credential-id", "")
    for name, job in render(FIXTURES / f"{scenario}.yaml").items():
        if not name.endswith("-ci"):
            continue
        remote = job.find("scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig")
        if given:
            assert remote.findtext("credentialsId") == given, name
        else:
            assert remote.find("credentialsId") is None, name
