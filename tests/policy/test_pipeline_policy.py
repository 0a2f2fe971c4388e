"""The job policy on Pipeline and multibranch jobs, judged on the XML JJB 6.5 renders (issue:
"The trust policy applies (no `sandbox: false`, no inline controller scripts unless granted)").

A multibranch project is allowed with every class JJB writes for its four branch sources
(GitHub, Bitbucket, Gerrit, git), their traits and strategies; its sources' credentials and
repository URLs are held to the project's grants like a GitSCM's; what runs code the team does
not own (a managed default Pipeline script, an organisation folder's jobs, any fork's Jenkinsfile)
is refused unless the org file grants the class. Then hostile team YAML through `render`."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.jjb.pipeline import generate_xml, make_jjb_config
from jjb_envdelivery.model.organisation import Namespace
from jjb_envdelivery.model.policy import Allowances, ClassException, TeamPolicy
from jjb_envdelivery.policy import Rule
from jjb_envdelivery.policy.check import judge_item
from jjb_envdelivery.policy.classes import ALLOWED, DENIED, PROJECT_TYPES, is_allowed, java_name

TINY_ORG = Path(__file__).parents[1] / "graph" / "fixtures" / "tiny-org"
FOLDER = Namespace("folder", "payments")
POLICY = TeamPolicy(allow=Allowances(credentials=("payments-git", "payments-ssh")),
                    updater_label="jjb", updater_credential="jjb-ini")
MULTIBRANCH = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
JJB_FACTORY = "org.jenkinsci.pipeline.workflow.multibranch.defaults.PipelineBranchDefaultsProjectFactory"
GITHUB_EVERYONE = "org.jenkinsci.plugins.github_branch_source.ForkPullRequestDiscoveryTrait$TrustEveryone"
BITBUCKET_EVERYONE = "com.cloudbees.jenkins.plugins.bitbucket.ForkPullRequestDiscoveryTrait$TrustEveryone"


def rendered(tmp_path: Path, jobs: list[dict] | str) -> dict[str, bytes]:
    path = tmp_path / "jobs.yaml"
    text = jobs if isinstance(jobs, str) else yaml.safe_dump([{"job": j} for j in jobs], sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return {item.name: item.output() for item in generate_xml(make_jjb_config(), [path]).jobs}


def judged(xml: bytes, job: str = "payments/billing-branches", policy: TeamPolicy = POLICY):
    return judge_item(job, "team.yaml:1", xml, FOLDER, policy, "payments")


def refusals(xml: bytes, **kwargs) -> list[tuple[Rule, str]]:
    return [(f.rule, f.message) for f in judged(xml, **kwargs).refused]


def multibranch(source: dict, **job) -> dict:
    return {"name": "payments/billing-branches", "project-type": "multibranch", "periodic-folder-trigger": "1h",
            "script-path": "ci/Jenkinsfile", "scm": [source], **job}


# Every option of JJB 6.5's project_multibranch.py source functions that writes a class, for
# each source (an option a source does not read writes nothing there).
EVERY_OPTION = {
    "discover-tags": True, "lfs": True, "head-filter-regex": "main|release/.*",
    "head-pr-filter-behaviors": {"head-pr-destined-regex": {"branch-regexp": "a"},
                                 "head-pr-destined-wildcard": {"branch-includes": "*"},
                                 "head-pr-originated-regex": {"branch-regexp": "a"},
                                 "head-pr-originated-wildcard": {"branch-includes": "*"}},
    "discover-pr-forks-strategy": "both", "discover-branch": "all", "branch-discovery": "all",
    "ignore-on-push-notifications": True, "local-branch": True,
    "refspecs": ["+refs/heads/*:refs/remotes/@{{remote}}/*"],
    "checkout-over-ssh": {"credentials": "payments-ssh"}, "ssh-checkout": {"credentials": "payments-ssh"},
    "filter-by-name-wildcard": {"includes": "*", "excludes": "x"},
    "filter-checks": {"query-operator": "SCHEME", "query-string": "s"}, "change-discovery": {"query-string": "q"},
    "notification-context": {"label": "l", "suffix": False},
    "status-checks": {"name": "n", "verbose-logs": True, "skip": True}, "disable-pr-notifications": True,
    "skip-notifications": True, "clean": {"after": {"remove-stale-nested-repos": True}, "before": {}},
    "committer": {"name": "n", "email": "e"}, "shallow-clone": True, "depth": 2, "do-not-fetch-tags": True,
    "honor-refspec": True, "reference-repo": "/cache/billing.git", "timeout": 5, "sparse-checkout": {"paths": ["a"]},
    "submodule": {"recursive": True, "parent-credentials": True}, "prune": True, "prune-tags": True,
    "wipe-workspace": True, "use-author": True, "lfs-pull": True, "excluded-regions": ["x"], "skip-tag": False,
    "build-strategies": [
        {"all-strategies-match": {"strategies": [{"regular-branches": True}, {"skip-initial-build": True}]}},
        {"any-strategies-match": {"strategies": [{"change-request": {"ignore-target-only-changes": True}},
                                                 {"tags": {"ignore-tags-newer-than": 1}}]}},
        {"named-branches": [{"exact-name": {"name": "main"}}, {"regex-name": {"regex": "r.*"}},
                            {"wildcards-name": {"includes": "r*"}}]}],
}
ALL_BRANCHES = {"all-branches": [
    {"suppress-scm-triggering": True}, {"pipeline-branch-durability-override": "max-survivability"},
    {"trigger-build-on-pr-comment": {"comment": "rebuild", "allow-untrusted-users": True}},
    {"trigger-build-on-pr-label": "ci"}, {"trigger-build-on-pr-review": True}, {"trigger-build-on-pr-update": True}]}
NAMED_BRANCHES = {"named-branches": {
    "defaults": [{"suppress-scm-triggering": {"branch-regex": "x", "suppression-strategy": "suppress-webhooks"}}],
    "exceptions": [{"exception": {"branch-name": "main", "properties": [
        {"pipeline-branch-durability-override": "performance-optimized"}]}}]}}
WHERE = {
    "github": {"repo-owner": "payments", "repo": "billing", "api-uri": "https://ghe.example.com/api/v3",
               "credentials-id": "payments-git"},
    "bitbucket": {"repo-owner": "PAY", "repo": "billing", "server-url": "https://bitbucket.example.com",
                  "credentials-id": "payments-git"},
    "gerrit": {"url": "https://gerrit.example.com/billing", "credentials-id": "payments-git"},
    "git": {"url": "https://git.example.com/payments/billing.git", "credentials-id": "payments-git"},
}


def every_option(kind: str, strategies: dict, trust: str) -> dict:
    origin = {"github": "both", "bitbucket": "mergeAndHead"}.get(kind)
    options = {**WHERE[kind], **EVERY_OPTION, "property-strategies": strategies, "discover-pr-forks-trust": trust}
    if origin:
        options["discover-pr-origin"] = origin
    return {kind: options}


def classes_of(xml: bytes) -> set[str]:
    """Every class a config.xml names, as tags (unescaped) and as class attributes."""
    found = set()
    for element in ET.fromstring(xml).iter():
        if "." in element.tag:
            found.add(java_name(element.tag))
        if "." in (element.get("class") or ""):
            found.add(element.get("class"))
    return found


@pytest.mark.parametrize("kind", sorted(WHERE))
def test_every_class_jjb_writes_for_a_multibranch_project_is_known_and_allowed(kind, tmp_path):
    """Each source with every option, both property strategies and each fork trust JJB offers
    but 'everyone': nothing is refused, nothing is unknown; each class is listed by its name (the
    git extensions inside the traits are hudson.plugins.git.extensions.impl.*, as for GitSCM)."""
    # Bitbucket: JJB's contributors and permission are no classes of that plugin (refused below).
    trusts = [(ALL_BRANCHES, "nobody")] if kind == "bitbucket" else \
        [(ALL_BRANCHES, "contributors"), (NAMED_BRANCHES, "permission"), (ALL_BRANCHES, "nobody")]
    jobs = [multibranch(every_option(kind, strategies, trust), name=f"payments/{kind}-{n}")
            for n, (strategies, trust) in enumerate(trusts)]
    for name, xml in rendered(tmp_path, jobs).items():
        assert judged(xml, job=name).refused == [], name
        listed = {c for c in classes_of(xml) if not c.startswith("hudson.plugins.git.extensions.impl.")}
        assert listed <= ALLOWED, listed - ALLOWED


def test_the_minimal_sources_pass_and_a_multibranch_project_is_a_job_kind(tmp_path):
    assert MULTIBRANCH in PROJECT_TYPES and is_allowed(MULTIBRANCH)
    jobs = [multibranch({kind: where}, name=f"payments/{kind}-branches") for kind, where in WHERE.items()]
    for name, xml in rendered(tmp_path, jobs).items():
        assert judged(xml, job=name).refused == [], name


@pytest.mark.parametrize("kind, trust_class", [("github", GITHUB_EVERYONE), ("bitbucket", BITBUCKET_EVERYONE)])
def test_trusting_every_forks_jenkinsfile_is_refused(kind, trust_class, tmp_path):
    xml = next(iter(rendered(tmp_path, [multibranch({kind: {**WHERE[kind], "discover-pr-forks-strategy": "both",
                                                            "discover-pr-forks-trust": "everyone"}})]).values()))
    assert refusals(xml) == [(Rule.PERMISSIONS, f"{trust_class}: trusts every fork's pull request: anyone who can fork "
                              "the repository runs their own Jenkinsfile with the project's credentials, as the "
                              "build's identity (SYSTEM by default); expected discover-pr-forks-trust: permission, "
                              "contributors or nobody (on Bitbucket: nobody)")]


@pytest.mark.parametrize("trust", ["contributors", "permission"])
def test_bitbucket_fork_trusts_that_the_plugin_does_not_have_are_refused(trust, tmp_path):
    """JJB writes GitHub's trust names under the bitbucket package (project_multibranch.py,
    bitbucket_scm); the plugin reads only TrustTeamForks, TrustEveryone and TrustNobody there
    (bitbucket-branch-source@8fdcfe19 impl/BitbucketPlugin.java:70-73)."""
    source = {**WHERE["bitbucket"], "discover-pr-forks-strategy": "both", "discover-pr-forks-trust": trust}
    xml = next(iter(rendered(tmp_path, [multibranch({"bitbucket": source})]).values()))
    found = refusals(xml)
    assert len(found) == 1 and found[0][0] == Rule.PERMISSIONS, found
    assert "is no class of the bitbucket plugin" in found[0][1] and "discover-pr-forks-trust: nobody" in found[0][1]


@pytest.mark.parametrize("kind, holder", [("github", "GitHubSCMSource"), ("bitbucket", "BitbucketSCMSource"),
                                          ("gerrit", "GerritSCMSource"), ("git", "GitSCMSource")])
def test_a_sources_credential_must_be_granted(kind, holder, tmp_path):
    xml = next(iter(rendered(tmp_path, [multibranch({kind: {**WHERE[kind], "credentials-id": "web-git"}})]).values()))
    assert refusals(xml) == [(Rule.CREDENTIAL, f"{holder} credentialsId: credential 'web-git' is not one the org file "
                              "grants the project (projects[].allow.credentials: payments-git, payments-ssh)")]


@pytest.mark.parametrize("kind, option, holder", [
    ("github", "ssh-checkout", "SSHCheckoutTrait"), ("bitbucket", "checkout-over-ssh", "SSHCheckoutTrait")])
def test_a_checkout_over_ssh_credential_must_be_granted(kind, option, holder, tmp_path):
    source = {kind: {**WHERE[kind], option: {"credentials": "jjb-ini"}}}
    xml = next(iter(rendered(tmp_path, [multibranch(source)]).values()))
    assert refusals(xml) == [(Rule.CREDENTIAL, f"{holder} credentialsId: credential 'jjb-ini' is the updater's "
                              "(updater.credential-id), which can rewrite every job: no team job may bind it")]


@pytest.mark.parametrize("kind, where, rule, words", [
    ("git", {"url": "file:///var/lib/jenkins/secrets"}, Rule.WORKSPACE,
     "GitSCMSource remote 'file:///var/lib/jenkins/secrets' is a path on the build's own machine; clone from a server"),
    ("gerrit", {"url": "/var/lib/jenkins/users"}, Rule.WORKSPACE,
     "GerritSCMSource remote '/var/lib/jenkins/users' is a path on the build's own machine"),
    ("git", {"url": "https://me:hunter2@git.example.com/x.git"}, Rule.CREDENTIAL,
     "a GitSCMSource remote with a password in it puts a secret in the job; give credentials-id instead"),
    ("gerrit", {"url": "https://$HOST/billing"}, Rule.CREDENTIAL,
     "GerritSCMSource remote 'https://$HOST/billing' is expanded from variables when the build runs"),
    ("github", {"repo-owner": "payments", "repo": "billing", "api-uri": "https://me:pw@ghe.example.com/api/v3"},
     Rule.CREDENTIAL, "a GitHubSCMSource apiUri with a password in it puts a secret in the job"),
    ("github", {"repo-owner": "$OWNER", "repo": "billing"}, Rule.CREDENTIAL,
     "GitHubSCMSource repository URL (from repoOwner '$OWNER', repository 'billing') "
     "'https://github.com/$OWNER/billing.git' is expanded from variables"),
    ("bitbucket", {"repo-owner": "PAY", "repo": "billing", "server-url": "/srv/bitbucket"}, Rule.WORKSPACE,
     "BitbucketSCMSource serverUrl '/srv/bitbucket' is a path on the build's own machine"),
])
def test_a_sources_repository_is_judged_like_a_git_url(kind, where, rule, words, tmp_path):
    xml = next(iter(rendered(tmp_path, [multibranch({kind: where})]).values()))
    found = refusals(xml)
    assert [r for r, _ in found] == [rule] and words in found[0][1], found


@pytest.mark.parametrize("job", [{"script-id": "managed-default"}, {"script-id": "managed-default", "sandbox": True}])
def test_a_managed_default_pipeline_is_refused_unless_granted(job, tmp_path):
    """JJB's script-id writes PipelineBranchDefaultsProjectFactory (project_multibranch.py:66-73,
    320-326): a script from the global config-file store, unsandboxed unless useSandbox
    (jenkins-security.md §1, the config-file-provider / multibranch-defaults row)."""
    source = {"git": WHERE["git"]}
    spec = {k: v for k, v in multibranch(source, **job).items() if k != "script-path"}
    xml = next(iter(rendered(tmp_path, [spec]).values()))
    found = refusals(xml)
    assert [r for r, _ in found] == [Rule.CONTROLLER_CODE]
    assert found[0][1].startswith(f"{JJB_FACTORY}: runs a managed Pipeline script from the global config-file store")
    assert "use project-type: multibranch with script-path: the repository's Jenkinsfile" in found[0][1]
    granted = TeamPolicy(allow=Allowances(credentials=POLICY.allow.credentials, classes=(
        ClassException(JJB_FACTORY, "shared release Pipeline, reviewed 2026-12"),)))
    allowed = judged(xml, policy=granted)
    assert allowed.refused == [] and "shared release Pipeline, reviewed 2026-12" in allowed.notices[0].message


def test_a_multibranch_defaults_project_is_refused_once(tmp_path):
    xml = next(iter(rendered(tmp_path, [{"name": "payments/x", "project-type": "multibranch-defaults",
                                         "scm": [{"git": WHERE["git"]}]}]).values()))
    project = "org.jenkinsci.plugins.pipeline.multibranch.defaults.PipelineMultiBranchDefaultsProject"
    # once, though the class recurs in every <owner class=...> reference to the project
    assert xml.count(project.encode()) > 1
    assert refusals(xml, job="payments/x") == [(Rule.CONTROLLER_CODE, f"{project}: {DENIED[project].why}")]


def test_an_organisation_folder_is_refused_as_a_root_and_inside_a_job():
    root = (b"<jenkins.branch.OrganizationFolder plugin='branch-api'><navigators><org.jenkinsci.plugins.github__branch"
            b"__source.GitHubSCMNavigator/></navigators><owner class='jenkins.branch.OrganizationFolder'/>"
            b"</jenkins.branch.OrganizationFolder>")
    found = judged(root, job="payments/everything").refused
    assert [f.rule for f in found if f.rule != Rule.UNKNOWN_CLASS] == [Rule.PROJECT_TYPE]
    assert found[0].message.startswith("jenkins.branch.OrganizationFolder: an organisation folder (branch-api) creates")
    inside = (b"<project><builders><jenkins.branch.OrganizationFolder/></builders></project>")
    assert [f.rule for f in judged(inside, job="payments/x").refused] == [Rule.PROJECT_TYPE]


@pytest.mark.parametrize("prop, rule", [
    ({"authorization": {"anonymous": ["job-read"]}}, Rule.PERMISSIONS),
    ({"raw": {"xml": "<org.jenkinsci.plugins.workflow.libs.FolderLibraries><libraries/>"
                     "</org.jenkinsci.plugins.workflow.libs.FolderLibraries>"}}, Rule.CONTROLLER_CODE),
    ({"raw": {"xml": "<com.cloudbees.hudson.plugins.folder.properties.FolderCredentialsProvider_-"
                     "FolderCredentialsProperty/>"}}, Rule.CREDENTIAL),
])
def test_the_multibranch_projects_folder_properties_are_refused_as_a_folders(prop, rule, tmp_path):
    """Folder properties apply to every branch job inside (jenkins-security.md §6, last row)."""
    xml = next(iter(rendered(tmp_path, [multibranch({"git": WHERE["git"]}, properties=[prop])]).values()))
    assert rule in [f.rule for f in judged(xml).refused]


def test_pipeline_jobs_as_jjb_writes_them(tmp_path):
    """JJB's `dsl:` leaves sandbox false (project_pipeline.py:116-117): refused, as
    test_policy_rules.test_inline_pipeline_scripts_must_be_sandboxed decides for the XML; a
    sandboxed inline script is allowed there and here. The Jenkinsfile from SCM
    (CpsScmFlowDefinition) is always sandboxed (CpsScmFlowDefinition.java:132,207): JJB's
    <sandbox>false</sandbox> in it is old data, allowed."""
    jobs = rendered(tmp_path, [
        {"name": "payments/inline", "project-type": "pipeline", "dsl": "echo 1"},
        {"name": "payments/inline-sandboxed", "project-type": "pipeline", "dsl": "echo 1", "sandbox": True},
        {"name": "payments/billing-current-ci", "project-type": "pipeline", "concurrent": False,
         "parameters": [{"string": {"name": "ENVDELIVERY_RELEASE", "default": "current"}}],
         "properties": [{"build-discarder": {"num-to-keep": 30}},
                        {"copyartifact": {"projects": "/payments/billing-current-package"}}],
         "triggers": [{"pollscm": {"cron": "H/5 * * * *"}}],
         "pipeline-scm": {"scm": [{"git": {"url": WHERE["git"]["url"], "credentials-id": "payments-git"}}],
                          "script-path": "ci/Jenkinsfile", "lightweight-checkout": True}},
    ])
    assert b"<sandbox>false</sandbox>" in jobs["payments/billing-current-ci"]
    assert [r for r, _ in refusals(jobs["payments/inline"], job="payments/inline")] == [Rule.CONTROLLER_CODE]
    assert refusals(jobs["payments/inline-sandboxed"], job="payments/inline-sandboxed") == []
    assert refusals(jobs["payments/billing-current-ci"], job="payments/billing-current-ci") == []


# -- hostile team YAML through `render` (the tiny organisation of the graph tests) -----------------

HOSTILE_FILE = "teams/payments/jenkins/hostile.yaml"
BRANCHES = "- job:\n    name: payments/evil-branches\n    project-type: multibranch\n"
# name -> (YAML, the rule, words of the reason)
HOSTILE = {
    "another team's credential in a branch source": (
        BRANCHES + "    scm:\n      - github:\n          repo-owner: payments\n          repo: billing\n"
                   "          credentials-id: web-git\n",
        "credential", "GitHubSCMSource credentialsId: credential 'web-git' is not one the org file grants"),
    "another team's key for checkout over SSH": (
        BRANCHES + "    scm:\n      - bitbucket:\n          repo-owner: PAY\n          repo: billing\n"
                   "          credentials-id: payments-git\n          checkout-over-ssh: {credentials: web-git}\n",
        "credential", "SSHCheckoutTrait credentialsId: credential 'web-git'"),
    "a managed default Pipeline": (
        BRANCHES + "    script-id: release-pipeline\n    scm:\n      - git: {url: 'https://git.example.com/x.git'}\n",
        "controller-code", "PipelineBranchDefaultsProjectFactory: runs a managed Pipeline script"),
    "an organisation folder as raw XML": (
        "- job:\n    name: payments/evil\n    builders:\n      - raw:\n          xml: |\n"
        "            <jenkins.branch.OrganizationFolder><navigators/></jenkins.branch.OrganizationFolder>\n",
        "project-type", "jenkins.branch.OrganizationFolder: an organisation folder"),
    "an unsandboxed inline Pipeline": (
        "- job:\n    name: payments/evil\n    project-type: pipeline\n    dsl: 'echo \"hi\"'\n",
        "controller-code", "an inline Pipeline script without the Groovy sandbox"),
    "a branch source on the controller's disk": (
        BRANCHES + "    scm:\n      - git: {url: 'file:///var/lib/jenkins/secrets'}\n",
        "workspace", "GitSCMSource remote 'file:///var/lib/jenkins/secrets' is a path on the build's own machine"),
    "every fork's Jenkinsfile": (
        BRANCHES + "    scm:\n      - github:\n          repo-owner: payments\n          repo: billing\n"
                   "          discover-pr-forks-trust: everyone\n",
        "permissions", "ForkPullRequestDiscoveryTrait$TrustEveryone: trusts every fork's pull request"),
}


@pytest.fixture
def org(tmp_path) -> Path:
    """The tiny organisation, with payments granted payments-git and web granted web-git."""
    org = Path(shutil.copytree(TINY_ORG, tmp_path / "org"))
    org_file = org / "delivery.yaml"
    text = org_file.read_text(encoding="utf-8")
    for project in ("payments", "web"):
        services = {"payments": "    services: [billing]\n", "web": "    services: [ui]\n"}[project]
        assert services in text
        text = text.replace(services, f"{services}    allow:\n      credentials: [{project}-git]\n")
    org_file.write_text(text, encoding="utf-8")
    return org


def _render(capsys, org: Path, out: Path) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["render", str(org), "-o", str(out)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_render_refuses_hostile_pipeline_and_multibranch_jobs(case, org, tmp_path, capsys):
    text, rule, words = HOSTILE[case]
    (org / HOSTILE_FILE).write_text(text, encoding="utf-8")
    code, err = _render(capsys, org, tmp_path / "out")
    assert code == 1 and err.startswith("jjb-envdelivery: error: scope payments: the job policy refuses"), err
    line = next(line for line in err.splitlines() if f"[{rule}]" in line)
    job = "payments/evil-branches" if text.startswith(BRANCHES) else "payments/evil"
    assert line.strip().startswith(f"{org / HOSTILE_FILE}:1: {job}: [{rule}]") and words in line, line
    assert not (tmp_path / "out").exists()


def test_render_passes_a_well_formed_multibranch_project_per_source(org, tmp_path, capsys):
    jobs = [{"job": multibranch({kind: {**where, "credentials-id": "payments-git"}},
                                name=f"payments/billing-{kind}-branches")} for kind, where in WHERE.items()]
    (org / HOSTILE_FILE).write_text(yaml.safe_dump(jobs), encoding="utf-8")
    code, err = _render(capsys, org, tmp_path / "out")
    assert code == 0, err
    assert (tmp_path / "out/payments/billing-github-branches/config.xml").exists()


def test_an_org_file_exception_grants_the_managed_default_pipeline(org, tmp_path, capsys):
    (org / HOSTILE_FILE).write_text(HOSTILE["a managed default Pipeline"][0], encoding="utf-8")
    org_file = org / "delivery.yaml"
    text = org_file.read_text(encoding="utf-8")
    grant = "      credentials: [payments-git]\n"
    org_file.write_text(text.replace(grant, grant + f"      classes:\n        - class: {JJB_FACTORY}\n"
                                                    "          reason: the release Pipeline, reviewed 2026-12\n"),
                        encoding="utf-8")
    code, err = _render(capsys, org, tmp_path / "out")
    assert code == 0, err
    assert (tmp_path / "out/payments/evil-branches/config.xml").exists()
