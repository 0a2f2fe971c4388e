"""The Pipeline and multibranch job-templates read as the plugins read them.

Fixtures: fixtures/pipeline-service.yaml (the envdelivery-pipeline-service group) and
fixtures/multibranch.yaml (envdelivery-multibranch-<host>, one service per host); their
expected XML is compared byte for byte in test_job_templates.py. Citations are to these
snapshots (src/main/java/ unless a path says otherwise):
wfjob = workflow-job-plugin@cef6baef, cps = workflow-cps-plugin@e007b7ff (plugin/src/main/java/),
git = git-plugin@add6e4dc, wfmb = workflow-multibranch-plugin@59f7718, bapi =
branch-api-plugin@e73a56d3, folder = cloudbees-folder-plugin@b72f4d5, ghbs =
github-branch-source-plugin@57edfa33, bbbs = bitbucket-branch-source-plugin@8fdcfe19,
gerrit = gerrit-code-review-plugin@1a3df5f.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.data_dirs import shipped_templates_dir
from jjb_envdelivery.jjb.pipeline import generate_xml, make_jjb_config

FIXTURES = Path(__file__).with_name("fixtures")
CPS_SCM = "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
PROPS = "org.jenkinsci.plugins.workflow.job.properties."
MULTIBRANCH = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
GHBS = "org.jenkinsci.plugins.github_branch_source."
GHBS_TAG = "org.jenkinsci.plugins.github__branch__source."
BBBS = "com.cloudbees.jenkins.plugins.bitbucket."


def render(*paths: Path) -> dict[str, ET.Element]:
    scope = generate_xml(make_jjb_config(), [shipped_templates_dir(), *paths])
    return {job.name: ET.fromstring(job.output()) for job in scope.jobs}


@pytest.fixture(scope="module")
def pipeline_jobs() -> dict[str, ET.Element]:
    return render(FIXTURES / "pipeline-service.yaml")


@pytest.fixture(scope="module")
def multibranch_jobs() -> dict[str, ET.Element]:
    return render(FIXTURES / "multibranch.yaml")


def ci_jobs(jobs: dict[str, ET.Element]) -> dict[str, ET.Element]:
    return {name: job for name, job in jobs.items() if name.endswith("-ci")}


# --- the Pipeline CI job ----------------------------------------------------------------------


def test_pipeline_group_keeps_the_ci_job_names(pipeline_jobs):
    """The package job's trigger and copy name '/<prefix><service>-<release>-ci' whichever CI
    template a team picks: the group renders the same names as envdelivery-service."""
    assert sorted(pipeline_jobs) == sorted(f"payments/billing-api-{line}-{kind}" for line in ("current", "upcoming")
                                           for kind in ("ci", "package", "deliver"))
    for name, job in pipeline_jobs.items():
        assert job.tag == ("flow-definition" if name.endswith("-ci") else "project"), name


# WorkflowJob's own fields (wfjob WorkflowJob.java:115-134: definition, quietPeriod, disabled...)
# and those of Job/AbstractItem (core Job.java keepDependencies, properties; AbstractItem
# description, displayName; Actionable actions). Freestyle's builders, publishers, buildWrappers,
# assignedNode, canRoam would be old data the job never uses.
WORKFLOW_JOB_FIELDS = {"definition", "quietPeriod", "disabled", "description", "displayName",
                       "keepDependencies", "properties", "actions", "resumeBlocked"}


def test_pipeline_job_has_only_workflow_job_fields(pipeline_jobs):
    for name, job in ci_jobs(pipeline_jobs).items():
        assert {child.tag for child in job} <= WORKFLOW_JOB_FIELDS, name
        assert job.findtext("disabled") == "false", name


# GitSCMFileSystem.BuilderImpl.supports (git jenkins/plugins/git/GitSCMFileSystem.java:259-273):
# one remote, one branch spec matching this expression (for refs/heads/), not "*".
LIGHTWEIGHT_BRANCH = re.compile(r"^((refs/heads/.*)|([^/]+)|(\*/[^/*]+(/[^/*]+)*))$")


def test_pipeline_reads_the_jenkinsfile_lightweight_from_the_release_branch(pipeline_jobs):
    """CpsScmFlowDefinition has `scm`, `scriptPath` (trimmed) and `lightweight`
    (cps CpsScmFlowDefinition.java:76-84, 103-106). Lightweight reads the script through the
    SCM's file system, which the git plugin offers only for a single, exact branch spec; any
    other spec silently falls back to a full checkout on the controller (:122-138)."""
    lines = {"current": "release/2026.11", "upcoming": "main"}
    for name, job in ci_jobs(pipeline_jobs).items():
        definition = job.find("definition")
        assert definition.get("class") == CPS_SCM, name
        assert definition.findtext("scriptPath") == "ci/Jenkinsfile", name
        assert definition.findtext("lightweight") == "true", name
        scm = definition.find("scm")
        assert scm.get("class") == "hudson.plugins.git.GitSCM", name
        remotes = scm.findall("userRemoteConfigs/hudson.plugins.git.UserRemoteConfig")
        branches = [b.findtext("name") for b in scm.findall("branches/hudson.plugins.git.BranchSpec")]
        assert len(remotes) == 1 and len(branches) == 1, name
        assert branches[0] == f"refs/heads/{lines[name.rsplit('-', 2)[1]]}", name
        assert LIGHTWEIGHT_BRANCH.match(branches[0]) and branches[0] != "*", name
        assert remotes[0].findtext("credentialsId") == "payments-git", name


def test_a_branch_without_refs_heads_would_not_be_lightweight():
    # The expression is the plugin's: 'release/2026.11' (a remote "release", git reads) fails it.
    assert not LIGHTWEIGHT_BRANCH.match("release/2026.11")
    assert LIGHTWEIGHT_BRANCH.match("refs/heads/release/2026.11")


def test_pipeline_script_is_always_sandboxed(pipeline_jobs):
    """CpsScmFlowDefinition has no `sandbox` field; it creates every execution sandboxed
    (`new CpsFlowExecution(script, true, ...)`, cps CpsScmFlowDefinition.java:133, 201). JJB
    writes <sandbox> into every definition (project_pipeline.py:116-117): the template makes it
    say true, so nobody reads the old-data element as an unsandboxed script."""
    for name, job in ci_jobs(pipeline_jobs).items():
        assert job.findtext("definition/sandbox") == "true", name


def test_pipeline_polls_through_the_pipeline_triggers_property(pipeline_jobs):
    """WorkflowJob's own `triggers` field is deprecated and migrated into
    PipelineTriggersJobProperty on load (wfjob WorkflowJob.java:148-164); JJB writes the
    property directly (triggers.py:2774-2790). Polling compares against the last successful
    build's checkouts (WorkflowJob.java:623-700), which the Jenkinsfile contract requires."""
    for name, job in ci_jobs(pipeline_jobs).items():
        assert job.find("triggers") is None, name
        specs = [t.findtext("spec") for t in job.findall(f"properties/{PROPS}PipelineTriggersJobProperty/triggers/"
                                                          "hudson.triggers.SCMTrigger")]
        assert specs == ["H/5 * * * *"], name


def test_pipeline_never_builds_concurrently(pipeline_jobs):
    """Without DisableConcurrentBuildsJobProperty a WorkflowJob runs builds concurrently
    (WorkflowJob.java:148-164 migrates `concurrentBuild` into it); two CI builds of one release
    line would race to be the package job's upstream."""
    for name, job in ci_jobs(pipeline_jobs).items():
        assert job.find(f"properties/{PROPS}DisableConcurrentBuildsJobProperty") is not None, name


def parameters(job: ET.Element) -> dict[str, str]:
    return {p.findtext("name"): p.findtext("defaultValue") or ""
            for p in job.findall("properties/hudson.model.ParametersDefinitionProperty/parameterDefinitions/"
                                 "hudson.model.StringParameterDefinition")}


def test_pipeline_parameters_carry_the_contract(pipeline_jobs):
    """The Jenkinsfile contract: string parameters (params.X and environment variables) with the
    project's values as defaults, so an SCM-started build sees them."""
    for name, job in ci_jobs(pipeline_jobs).items():
        line = name.rsplit("-", 2)[1]
        assert parameters(job) == {
            "ENVDELIVERY_SERVICE": "billing-api", "ENVDELIVERY_RELEASE": line,
            "ENVDELIVERY_BRANCH": {"current": "release/2026.11", "upcoming": "main"}[line],
            "ENVDELIVERY_NODE": "linux", "ENVDELIVERY_BUILD_TIMEOUT": "60",
        }, name


def test_pipeline_timeout_parameter_follows_the_project(tmp_path):
    project = yaml.safe_load((FIXTURES / "pipeline-service.yaml").read_text())
    project[1]["project"]["build-timeout"] = 90
    del project[1]["project"]["node"]
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(project))
    for name, job in ci_jobs(render(path)).items():
        assert parameters(job)["ENVDELIVERY_BUILD_TIMEOUT"] == "90", name
        assert parameters(job)["ENVDELIVERY_NODE"] == "", name


def test_pipeline_template_parameters_are_documented():
    """Every parameter the template reads is named in its header (the docs teams read)."""
    text = (shipped_templates_dir() / "envdelivery-pipeline-ci.yaml").read_text()
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    used = set(re.findall(r"\{([a-z][a-z0-9-]*)\|?\}", text.split("- job-template:", 1)[1]))
    context = {"job-prefix", "jobs-disabled", "envdelivery-copiers", "release", "branch"}
    for parameter in sorted(used - context):
        assert re.search(rf"\b{re.escape(parameter)}\b", header), parameter


# --- the multibranch job ----------------------------------------------------------------------


SOURCES = {
    "payments/billing-api-branches": f"{GHBS}GitHubSCMSource",
    "payments/ledger-branches": f"{BBBS}BitbucketSCMSource",
    "payments/rates-branches": "jenkins.plugins.gerrit.GerritSCMSource",
    "payments/docs-branches": "jenkins.plugins.git.GitSCMSource",
}
# Each source's persisted fields (ghbs GitHubSCMSource.java:186-200; bbbs BitbucketSCMSource.java:
# 168-194; git GitSCMSource.java:126-183; gerrit GerritSCMSource.java:84-92), `id` from SCMSource.
SOURCE_FIELDS = {
    f"{GHBS}GitHubSCMSource": {"id", "apiUri", "credentialsId", "repoOwner", "repository", "traits"},
    f"{BBBS}BitbucketSCMSource": {"id", "serverUrl", "credentialsId", "repoOwner", "repository", "traits"},
    "jenkins.plugins.git.GitSCMSource": {"id", "remote", "credentialsId", "traits"},
    # JJB also writes includes, excludes and ignoreOnPushNotifications, which GerritSCMSource no
    # longer has (old data, ignored); pushes are ignored only with IgnoreOnPushNotificationTrait
    # (GerritSCMSource.java:143).
    "jenkins.plugins.gerrit.GerritSCMSource": {"id", "remote", "credentialsId", "traits", "includes", "excludes",
                                               "ignoreOnPushNotifications"},
}


def source_of(job: ET.Element) -> ET.Element:
    """The one branch source: MultiBranchProject.sources is a BranchSourceList of BranchSource
    (bapi MultiBranchProject.java:144; BranchSource.java:54-67)."""
    sources = job.findall("sources/data/jenkins.branch.BranchSource")
    assert job.find("sources").get("class") == "jenkins.branch.MultiBranchProject$BranchSourceList"
    assert len(sources) == 1
    return sources[0].find("source")


def traits(source: ET.Element) -> dict[str, ET.Element]:
    return {trait.tag: trait for trait in source.find("traits")}


def test_one_multibranch_job_per_service_and_host(multibranch_jobs):
    assert sorted(multibranch_jobs) == sorted(SOURCES)
    for name, job in multibranch_jobs.items():
        assert job.tag == MULTIBRANCH, name
        source = source_of(job)
        assert source.get("class") == SOURCES[name], name
        assert {child.tag for child in source} <= SOURCE_FIELDS[SOURCES[name]], name


def test_multibranch_reads_the_jenkinsfile_the_project_names(multibranch_jobs):
    """WorkflowBranchProjectFactory.scriptPath; blank means "Jenkinsfile"
    (wfmb WorkflowBranchProjectFactory.java:42-60)."""
    for name, job in multibranch_jobs.items():
        factory = job.find("factory")
        assert factory.get("class") == "org.jenkinsci.plugins.workflow.multibranch.WorkflowBranchProjectFactory"
        expected = "build/Jenkinsfile" if name == "payments/ledger-branches" else "Jenkinsfile"
        assert factory.findtext("scriptPath") == expected, name


def test_multibranch_indexes_periodically(multibranch_jobs):
    """PeriodicFolderTrigger keeps `interval` in milliseconds, within 1 minute and 30 days
    (folder computed/PeriodicFolderTrigger.java:104-129), and indexes when the last indexing is
    older than about 95% of it (:168-196): `spec` only says how often it checks."""
    expected = {"payments/rates-branches": 30 * 60_000}
    for name, job in multibranch_jobs.items():
        trigger = job.findall("triggers/com.cloudbees.hudson.plugins.folder.computed.PeriodicFolderTrigger")
        assert len(trigger) == 1, name
        interval = int(trigger[0].findtext("interval"))
        assert interval == expected.get(name, 60 * 60_000), name
        assert 60_000 <= interval <= 30 * 24 * 3600_000
        assert trigger[0].findtext("spec"), name


def test_multibranch_keeps_dead_branches_a_week(multibranch_jobs):
    """DefaultOrphanedItemStrategy fields (folder computed/DefaultOrphanedItemStrategy.java:61-76)."""
    for name, job in multibranch_jobs.items():
        strategy = job.find("orphanedItemStrategy")
        assert strategy.get("class") == "com.cloudbees.hudson.plugins.folder.computed.DefaultOrphanedItemStrategy"
        assert (strategy.findtext("pruneDeadBranches"), strategy.findtext("daysToKeep"),
                strategy.findtext("numToKeep")) == ("true", "7", "-1"), name


def test_multibranch_can_be_disabled_with_the_scope(multibranch_jobs):
    """ComputedFolder has `disabled` (folder computed/ComputedFolder.java:112-124): jobs-disabled
    stops indexing, as it stops the other jobs' builds."""
    for name, job in multibranch_jobs.items():
        assert job.findtext("disabled") == "false", name


def test_every_source_wipes_the_workspace(multibranch_jobs):
    for name, job in multibranch_jobs.items():
        wipe = traits(source_of(job)).get("jenkins.plugins.git.traits.WipeWorkspaceTrait")
        assert wipe is not None, name
        assert wipe.find("extension").get("class") == "hudson.plugins.git.extensions.impl.WipeWorkspace"


def test_github_source(multibranch_jobs):
    """apiUri is written: readResolve does not default a missing one (ghbs GitHubSCMSource.java:
    186-189, 413-423, 525-560). Branch discovery 1 = branches not filed as pull requests
    (BranchDiscoveryTrait.java:58-60); pull requests 1 = merged with the target
    (OriginPullRequestDiscoveryTrait.java:60-67); forks trusted by write permission
    (ForkPullRequestDiscoveryTrait.java:316-337)."""
    source = source_of(multibranch_jobs["payments/billing-api-branches"])
    assert (source.findtext("apiUri"), source.findtext("repoOwner"), source.findtext("repository"),
            source.findtext("credentialsId")) == ("https://api.github.com", "payments", "billing-api",
                                                  "payments-github-app")
    found = traits(source)
    assert found[f"{GHBS_TAG}BranchDiscoveryTrait"].findtext("strategyId") == "1"
    assert found[f"{GHBS_TAG}OriginPullRequestDiscoveryTrait"].findtext("strategyId") == "1"
    fork = found[f"{GHBS_TAG}ForkPullRequestDiscoveryTrait"]
    assert fork.findtext("strategyId") == "1"
    assert fork.find("trust").get("class") == f"{GHBS}ForkPullRequestDiscoveryTrait$TrustPermission"


# The bitbucket plugin's classes moved to the `trait` package; the old names it still reads are
# its compatibility aliases (bbbs impl/BitbucketPlugin.java:57-80).
BITBUCKET_ALIASES = {f"{BBBS}{name}" for name in (
    "BranchDiscoveryTrait", "ForkPullRequestDiscoveryTrait", "ForkPullRequestDiscoveryTrait$TrustEveryone",
    "ForkPullRequestDiscoveryTrait$TrustNobody", "ForkPullRequestDiscoveryTrait$TrustTeamForks",
    "OriginPullRequestDiscoveryTrait", "SSHCheckoutTrait", "TagDiscoveryTrait", "WebhookRegistrationTrait")}


def test_bitbucket_source_uses_classes_the_plugin_reads(multibranch_jobs):
    """JJB writes the bitbucket traits by their old names, which the plugin aliases. It would write
    fork trust classes that do not exist (TrustContributors, TrustPermission: JJB's default),
    so the template discovers no fork pull requests."""
    source = source_of(multibranch_jobs["payments/ledger-branches"])
    assert source.findtext("serverUrl") == "https://bitbucket.example.com"
    found = traits(source)
    for tag in found:
        assert tag in BITBUCKET_ALIASES or tag.startswith("jenkins.plugins.git.traits."), tag
    assert f"{BBBS}ForkPullRequestDiscoveryTrait" not in found
    # 1 = branches not also pull requests; 1 = pull requests merged with the target
    # (bbbs trait/BranchDiscoveryTrait.java, trait/OriginPullRequestDiscoveryTrait.java:78-104)
    assert found[f"{BBBS}BranchDiscoveryTrait"].findtext("strategyId") == "1"
    assert found[f"{BBBS}OriginPullRequestDiscoveryTrait"].findtext("strategyId") == "1"


def test_gerrit_and_git_sources(multibranch_jobs):
    gerrit = source_of(multibranch_jobs["payments/rates-branches"])
    assert gerrit.findtext("remote") == "https://review.example.com/rates"
    assert "jenkins.plugins.gerrit.traits.ChangeDiscoveryTrait" in traits(gerrit)
    assert "jenkins.plugins.git.traits.IgnoreOnPushNotificationTrait" not in traits(gerrit)
    git = source_of(multibranch_jobs["payments/docs-branches"])
    assert (git.findtext("remote"), git.findtext("credentialsId")) == ("https://git.example.com/payments/docs.git",
                                                                       "payments-git")
    assert "jenkins.plugins.git.traits.BranchDiscoveryTrait" in traits(git)
