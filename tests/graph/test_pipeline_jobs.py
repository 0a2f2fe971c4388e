"""Pipeline and multibranch jobs in the graph, built from XML that JJB 6.5 renders from plain job
YAML (the shipped templates may change; these jobs stand for what they emit): a Pipeline CI job
feeding a freestyle package job (ReverseBuildTrigger, CopyArtifact), the SCM edges of a Pipeline
job and of every branch source kind of a multibranch project, and the checks on both."""

from __future__ import annotations

from pathlib import Path

import pytest

from jjb_envdelivery.graph import check, check_warnings
from jjb_envdelivery.graph.build import read_job
from jjb_envdelivery.graph.checks import COPY_PERMISSION, CYCLE, DANGLING, UNTRIGGERABLE
from jjb_envdelivery.graph.dot import to_dot
from jjb_envdelivery.graph.html import to_html
from jjb_envdelivery.graph.model import MULTIBRANCH
from jjb_envdelivery.jjb.pipeline import generate_xml, make_jjb_config

from .conftest import graph_of_xml

REPO = "https://git.example.com/payments/billing.git"
REVERSE = "upstreamProjects (jenkins.triggers.ReverseBuildTrigger)"
COPY = "project (hudson.plugins.copyartifact.CopyArtifact)"


def rendered(tmp_path: Path, yaml_text: str) -> dict[str, bytes]:
    """Each job's config.xml, as JJB renders `yaml_text`."""
    path = tmp_path / "jobs.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    return {item.name: item.output() for item in generate_xml(make_jjb_config(), [path]).jobs}


def pipeline_ci(name: str = "payments/billing-current-ci", grants: str | None = "/payments/billing-current-package",
                triggers: str = "      - pollscm: {cron: 'H/5 * * * *'}\n") -> str:
    """A Pipeline CI job as the pipeline CI template writes it: script from SCM, SCM polling in
    PipelineTriggersJobProperty (JJB triggers.py:2770-2790), copy grants, string parameters."""
    copy = f"      - copyartifact: {{projects: '{grants}'}}\n" if grants else ""
    return f"""
- job:
    name: {name}
    project-type: pipeline
    concurrent: false
    parameters:
      - string: {{name: ENVDELIVERY_RELEASE, default: current}}
    properties:
      - build-discarder: {{num-to-keep: 30, artifact-num-to-keep: 10}}
{copy}    triggers:
{triggers}    pipeline-scm:
      scm:
        - git:
            url: {REPO}
            credentials-id: payments-git
            branches: [refs/heads/release/1]
      script-path: ci/Jenkinsfile
      lightweight-checkout: true
"""


def package(upstream: str = "billing-current-ci", copies: str | None = None) -> str:
    return f"""
- job:
    name: payments/billing-current-package
    node: payments-build
    triggers:
      - reverse: {{jobs: '{upstream}'}}
    builders:
      - copyartifact: {{project: '{copies or upstream}', filter: 'dist/**', which-build: upstream-build}}
      - shell: make package
"""


def problems(graph, check_name=None):
    found = check(graph)
    return [p for p in found if check_name is None or p.check == check_name]


def test_a_pipeline_ci_job_feeds_the_freestyle_package_job(tmp_path):
    """The package job's ReverseBuildTrigger names a WorkflowJob: core fires it through
    ReverseBuildTrigger's RunListener (ReverseBuildTrigger.java:260-302), and CopyArtifact finds
    any Job (CopyArtifact.java:455); CopyArtifactPermissionProperty is a JobProperty, so the
    Pipeline job's grant counts."""
    jobs = rendered(tmp_path, pipeline_ci() + package())
    assert jobs["payments/billing-current-ci"].startswith(b"<?xml") and b"<flow-definition" in \
        jobs["payments/billing-current-ci"]
    graph = graph_of_xml(jobs)
    ci, pkg = graph.nodes["payments/billing-current-ci"], graph.nodes["payments/billing-current-package"]
    assert (ci.kind, ci.service, ci.release, ci.starts) == ("ci", "billing", "current",
                                                            frozenset({"scm trigger", "parameters"}))
    assert ci.copy_grants == ("/payments/billing-current-package",)
    assert pkg.kind == "package" and pkg.declares_upstream
    into = sorted((e.source, e.kind, e.field) for e in graph.edges if e.target == pkg.id)
    assert into == [(ci.id, "artifact", COPY), (ci.id, "trigger", REVERSE)]
    assert [(e.source, e.kind, e.field) for e in graph.edges if e.target == ci.id] == [
        (f"repo:{REPO}", "scm", "scm url")]
    assert check(graph) == [] and check_warnings(graph) == []


def test_a_pipeline_job_without_an_scm_trigger_has_no_scm_edge(tmp_path):
    """An SCM edge says the repository starts the job; a Pipeline job without SCMTrigger is
    started by its parameters (Build with Parameters) only."""
    graph = graph_of_xml(rendered(tmp_path, pipeline_ci(triggers="      - timed: '@daily'\n")))
    ci = graph.nodes["payments/billing-current-ci"]
    assert ci.starts == {"timer", "parameters"}
    assert [e for e in graph.edges if e.target == ci.id and e.kind == "scm"] == []


def test_copy_permission_missing_on_a_pipeline_ci_job(tmp_path):
    graph = graph_of_xml(rendered(tmp_path, pipeline_ci(grants=None) + package()))
    found = problems(graph)
    assert [(p.check, p.jobs) for p in found] == [
        (COPY_PERMISSION, ("payments/billing-current-ci", "payments/billing-current-package"))]
    assert found[0].message.startswith(
        "payments/billing-current-ci: projectNameList (hudson.plugins.copyartifact.CopyArtifactPermissionProperty): "
        "missing: nothing permits payments/billing-current-package to copy its artifacts")
    assert "listing '/payments/billing-current-package'" in found[0].message


def test_a_copy_grant_that_does_not_match_the_package_job(tmp_path):
    """'payments/billing-current-package' is matched neither relative to the folder nor as
    '/' + full name (CopyArtifactPermissionProperty.java:99-133)."""
    graph = graph_of_xml(rendered(tmp_path, pipeline_ci(grants="payments/billing-current-package") + package()))
    found = problems(graph, COPY_PERMISSION)
    assert len(found) == 1 and "does not permit payments/billing-current-package" in found[0].message
    assert "matches its full name without the leading '/'" in found[0].message


def test_dangling_reference_to_a_pipeline_job_that_does_not_exist(tmp_path):
    graph = graph_of_xml(rendered(tmp_path, pipeline_ci() + package(upstream="billing-upcoming-ci")))
    assert [(p.check, p.jobs, p.field) for p in problems(graph)] == [
        (DANGLING, ("payments/billing-current-package",), COPY),
        (DANGLING, ("payments/billing-current-package",), REVERSE),
        (UNTRIGGERABLE, ("payments/billing-current-package",), REVERSE),
    ]
    assert str(problems(graph)[1]) == (
        f"payments/billing-current-package: {REVERSE}: names 'billing-upcoming-ci', which is no job of any scope "
        "(looked up 'payments/billing-upcoming-ci' then 'billing-upcoming-ci')")


def test_a_cycle_through_a_pipeline_job(tmp_path):
    """A Pipeline job's own ReverseBuildTrigger sits in PipelineTriggersJobProperty: read too."""
    ci = pipeline_ci(triggers="      - pollscm: {cron: 'H/5 * * * *'}\n"
                              "      - reverse: {jobs: billing-current-package}\n")
    graph = graph_of_xml(rendered(tmp_path, ci + package()))
    cycles = problems(graph, CYCLE)
    assert [p.jobs for p in cycles] == [("payments/billing-current-ci", "payments/billing-current-package")]
    assert "payments/billing-current-package triggers payments/billing-current-ci" in cycles[0].message


def multibranch(source: str, trigger: str = "    periodic-folder-trigger: 1h\n") -> str:
    return f"""
- job:
    name: payments/billing-branches
    project-type: multibranch
    script-path: ci/Jenkinsfile
{trigger}    scm:
      - {source}
"""


SOURCES = {
    "github.com": ("github: {repo-owner: payments, repo: billing, credentials-id: payments-git}",
                   "https://github.com/payments/billing.git"),
    "github.com by its API": ("github: {repo-owner: payments, repo: billing, api-uri: 'https://api.github.com'}",
                              "https://github.com/payments/billing.git"),
    "GitHub Enterprise": ("github: {repo-owner: payments, repo: billing, api-uri: 'https://ghe.example.com/api/v3', "
                          "ssh-checkout: {credentials: payments-ssh}}",
                          "https://ghe.example.com/payments/billing.git"),
    "Bitbucket Cloud": ("bitbucket: {repo-owner: payments, repo: billing, credentials-id: payments-git}",
                        "https://bitbucket.org/payments/billing.git"),
    "Bitbucket Server": ("bitbucket: {repo-owner: PAY, repo: billing, server-url: 'https://bitbucket.example.com/'}",
                         "https://bitbucket.example.com/scm/pay/billing.git"),
    "Gerrit": ("gerrit: {url: 'https://gerrit.example.com/billing', credentials-id: payments-git}",
               "https://gerrit.example.com/billing"),
    "git": (f"git: {{url: '{REPO}', credentials-id: payments-git}}", REPO),
}


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_a_multibranch_project_is_started_by_its_sources_repository(kind, tmp_path):
    source, url = SOURCES[kind]
    graph = graph_of_xml(rendered(tmp_path, multibranch(source)))
    node = graph.nodes["payments/billing-branches"]
    assert (node.kind, node.project, node.service, node.release) == (MULTIBRANCH, "payments", "billing", None)
    assert node.starts == {"scm trigger", "timer"}  # indexing on webhooks, and its PeriodicFolderTrigger
    assert not node.is_job  # it never builds: its branch jobs do
    assert [(e.source, e.kind, e.field) for e in graph.edges if e.target == node.id] == [
        (f"repo:{url}", "scm", "source (jenkins.branch.BranchSource)")]
    assert graph.nodes[f"repo:{url}"].project == "payments"
    assert check(graph) == []


def test_a_multibranch_project_without_a_periodic_trigger_still_starts_on_scm_events(tmp_path):
    graph = graph_of_xml(rendered(tmp_path, multibranch(SOURCES["git"][0], trigger="")))
    assert graph.nodes["payments/billing-branches"].starts == {"scm trigger"}


@pytest.mark.parametrize("ci_url", [REPO, "git@git.example.com:payments/billing.git",
                                    "https://git.example.com/payments/billing"])
def test_a_multibranch_project_joins_the_ci_jobs_repository(ci_url, tmp_path):
    """The source's URL is derived (GitHub Enterprise here): it joins the repository the CI job
    names when host and path agree, whatever the scheme, user or '.git'."""
    ci = pipeline_ci().replace(REPO, ci_url)
    source = "github: {repo-owner: payments, repo: billing, api-uri: 'https://git.example.com/api/v3'}"
    graph = graph_of_xml(rendered(tmp_path, ci + multibranch(source)))
    repos = [n.id for n in graph.nodes.values() if n.kind == "repo"]
    assert repos == [f"repo:{ci_url}"]
    assert sorted(e.target for e in graph.edges if e.kind == "scm") == [
        "payments/billing-branches", "payments/billing-current-ci"]


def test_read_job_keeps_a_multibranch_project_an_item_group(tmp_path):
    xml = rendered(tmp_path, multibranch(SOURCES["GitHub Enterprise"][0]))["payments/billing-branches"]
    facts = read_job("payments/billing-branches", xml)
    assert facts.is_group and facts.multibranch and facts.refs == []
    assert facts.scm_urls == ["https://ghe.example.com/payments/billing.git"]


def test_a_reference_into_a_multibranch_project_names_a_branch_job_nobody_can_see(tmp_path):
    """Jenkins would find payments/billing-branches/main once indexing created it; its triggers
    and copy permission come from the Jenkinsfile, so the graph cannot judge it: an error."""
    jobs = rendered(tmp_path, pipeline_ci() + multibranch(SOURCES["git"][0])
                    + package(upstream="billing-branches/main"))
    graph = graph_of_xml(jobs)
    found = problems(graph)
    assert [(p.check, p.field) for p in found] == [(DANGLING, COPY), (DANGLING, REVERSE), (UNTRIGGERABLE, REVERSE)]
    assert str(found[1]) == (
        f"payments/billing-current-package: {REVERSE}: names 'billing-branches/main', a branch job of multibranch "
        "project 'payments/billing-branches': branch jobs exist only after branch indexing and their properties "
        "(triggers, copy permissions) come from the Jenkinsfile, so nothing here can check it; CD jobs must hang "
        "off the release line's CI job (payments/billing-current-ci)")
    assert not [e for e in graph.edges if e.target == "payments/billing-current-package"]


def test_a_reference_at_a_multibranch_project_names_no_job(tmp_path):
    jobs = rendered(tmp_path, pipeline_ci() + multibranch(SOURCES["git"][0])
                    + package(upstream="/payments/billing-branches", copies="billing-branches"))
    found = problems(graph_of_xml(jobs))
    assert [(p.check, p.field) for p in found] == [(DANGLING, COPY), (DANGLING, REVERSE), (UNTRIGGERABLE, REVERSE)]
    assert str(found[0]) == (
        f"payments/billing-current-package: {COPY}: names 'billing-branches', which is the multibranch project "
        "'payments/billing-branches': an item group of branch jobs, it never builds itself, so it neither triggers "
        "anything nor has artifacts; name the release line's CI job (payments/billing-current-ci)")


def test_a_list_view_may_show_a_multibranch_project_but_not_its_branches(tmp_path):
    jobs = rendered(tmp_path, multibranch(SOURCES["git"][0]))
    view = ("<hudson.model.ListView><name>payments</name><jobNames><string>payments/billing-branches</string>"
            "<string>payments/billing-branches/main</string></jobNames><recurse>true</recurse></hudson.model.ListView>")
    graph = graph_of_xml(jobs, {"payments": view})
    assert check(graph) == []
    warnings = [str(w) for w in check_warnings(graph)]
    assert len(warnings) == 1 and "'payments/billing-branches/main', a branch job of multibranch project" in warnings[0]


def test_a_release_lines_graph_keeps_the_multibranch_project(tmp_path):
    graph = graph_of_xml(rendered(tmp_path, pipeline_ci() + package() + multibranch(SOURCES["git"][0])))
    current = graph.for_release("current")
    assert {"payments/billing-branches", f"repo:{REPO}"} <= set(current.nodes)
    assert "payments/billing-branches" not in [n.id for n in current.nodes.values() if n.is_job]


def test_pictures_draw_a_multibranch_project_in_its_own_column(tmp_path):
    graph = graph_of_xml(rendered(tmp_path, pipeline_ci() + package() + multibranch(SOURCES["git"][0])))
    dot = to_dot(graph)
    assert '"payments/billing-branches" [label="billing-branches", tooltip="payments/billing-branches", ' \
           'fillcolor="#e6f0ff", shape="folder"];' in dot
    page = to_html(graph, "tiny")
    assert ">branches</text>" in page and "1 multibranch project," in page
    assert ">1 multibranch project</text>" in page  # the overview's box
    without = to_html(graph_of_xml(rendered(tmp_path, pipeline_ci() + package())), "tiny")
    assert ">branches</text>" not in without  # the column only when some project has one
