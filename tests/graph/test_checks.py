"""Each check of the graph, with its exact message, on small organisations broken on purpose."""

from __future__ import annotations

import copy

import pytest

from jjb_envdelivery.errors import EnvDeliveryError
from jjb_envdelivery.graph import GraphCheckError, build_graph, check, check_or_raise, check_warnings
from jjb_envdelivery.jjb.pipeline import RenderedScope
from jjb_envdelivery.model.loader import load_organisation
from jjb_envdelivery.orchestration.checked_render import check_organisation, graph_of_organisation
from jjb_envdelivery.render import ScopeResult, render_scopes

from .conftest import add_yaml, grant_upstreams

REVERSE = "upstreamProjects (jenkins.triggers.ReverseBuildTrigger)"


def messages(org) -> list[str]:
    return [str(p) for p in check(graph_of_organisation(org))]


def test_tiny_org_passes(tiny_org):
    graph = check_organisation(tiny_org)
    assert check(graph) == []
    assert graph.count_nodes()["ci"] == 4


def test_dangling_names_are_resolved_as_jenkins_does(tiny_org):
    add_yaml(tiny_org, "payments", "report.yaml", """
- job:
    name: payments/nightly-report
    disabled: false
    triggers:
      - timed: '@daily'
      - reverse:
          jobs: 'billing-current-ci, payments/no-such-job'
    publishers:
      - trigger:
          project: 'Billing-Current-Deliver,  ../web-missing'
""")
    grant_upstreams(tiny_org, "payments", ["web-missing"])
    assert messages(tiny_org) == [
        "payments/nightly-report: childProjects (hudson.tasks.BuildTrigger): names '../web-missing', which is "
        "no job of any scope (looked up 'web-missing' then '../web-missing')",
        f"payments/nightly-report: {REVERSE}: names 'payments/no-such-job', which is no job of any scope "
        "(looked up 'payments/payments/no-such-job' then 'payments/no-such-job')",
    ]


def test_a_folder_is_no_job(tiny_org):
    add_yaml(tiny_org, "web", "folder.yaml", """
- job:
    name: web-after-payments
    disabled: false
    triggers:
      - timed: '@daily'
      - reverse: {jobs: payments}
""")
    grant_upstreams(tiny_org, "web", ["payments"])
    assert messages(tiny_org) == [
        f"web-after-payments: {REVERSE}: names 'payments', which is the folder 'payments', not a job"]


def test_cycle_names_its_jobs_in_order(tiny_org):
    add_yaml(tiny_org, "web", "cycle.yaml", """
- job:
    name: web-a
    disabled: false
    triggers:
      - reverse: {jobs: web-b}
- job:
    name: web-b
    disabled: false
    triggers:
      - timed: '@daily'
      - reverse: {jobs: web-a}
- job:
    name: web-c
    disabled: false
    triggers: [{timed: '@daily'}]
    builders:
      - copyartifact: {project: web-d}
    publishers:
      - trigger-parameterized-builds:
          - project: web-d
            current-parameters: true
- job:
    name: web-d
    disabled: false
    properties:
      - copyartifact: {projects: web-c}
    triggers:
      - timed: '@daily'
""")
    assert messages(tiny_org) == [
        f"web-a -> web-b -> web-a: cycle of trigger/artifact edges: web-a triggers web-b ({REVERSE} of web-b); "
        f"web-b triggers web-a ({REVERSE} of web-a)",
        "web-c -> web-d -> web-c: cycle of trigger/artifact edges: web-c triggers web-d (projects "
        "(hudson.plugins.parameterizedtrigger.BuildTrigger) of web-c); web-d gives its artifacts to web-c "
        "(project (hudson.plugins.copyartifact.CopyArtifact) of web-c)",
    ]


def test_duplicate_names_differ_only_in_case(tiny_org):
    """Across scopes, the graph compares names without case. (Within a team scope the render
    refuses such a pair first: tests/push/test_hostile_names.py.)"""
    org = load_organisation(tiny_org)
    scopes = render_scopes(org).scopes
    payments = next(s for s in scopes if s.scope.name == "payments")
    web = next(s for s in scopes if s.scope.name == "web")
    stolen = copy.copy(next(j for j in payments.rendered.jobs if j.name == "payments/billing-current-ci"))
    stolen.name = "Payments/Billing-current-ci"
    scopes[scopes.index(web)] = ScopeResult(web.scope, RenderedScope(web.rendered.jobs + [stolen], []))
    assert [str(p) for p in check(build_graph(scopes, org))] == [
        "payments/billing-current-ci: name: generated 2 times (Jenkins compares item names without case): "
        "'payments/billing-current-ci' by scope payments, 'Payments/Billing-current-ci' by scope web"]


def test_a_team_scope_with_names_differing_only_in_case_does_not_render(tiny_org):
    add_yaml(tiny_org, "web", "dup.yaml", """
- job: {name: web-Smoke, disabled: false}
- job: {name: web-smoke, disabled: false}
""")
    with pytest.raises(EnvDeliveryError, match="'web-smoke' and 'web-Smoke' .* differ only in case"):
        render_scopes(load_organisation(tiny_org))


def test_duplicate_across_scopes(tiny_org):
    org = load_organisation(tiny_org)
    scopes = render_scopes(org).scopes
    payments = next(s for s in scopes if s.scope.name == "payments")
    web = next(s for s in scopes if s.scope.name == "web")
    stolen = next(j for j in payments.rendered.jobs if j.name == "payments/billing-current-ci")
    scopes[scopes.index(web)] = ScopeResult(web.scope, RenderedScope(web.rendered.jobs + [stolen], []))
    assert [str(p) for p in check(build_graph(scopes, org))] == [
        "payments/billing-current-ci: name: generated 2 times (Jenkins compares item names without case): "
        "'payments/billing-current-ci' by scope payments, 'payments/billing-current-ci' by scope web"]


# A job whose artifacts the hand-written jobs below may copy.
WEB_SOURCE = """
- job:
    name: web-source
    disabled: false
    triggers: [{timed: '@daily'}]
    properties:
      - copyartifact: {projects: 'web-orphan,web-by-hand,web-smoke'}
"""


def test_cd_job_nothing_can_start(tiny_org):
    add_yaml(tiny_org, "web", "source.yaml", WEB_SOURCE)
    add_yaml(tiny_org, "web", "orphans.yaml", """
- job:
    name: web-orphan
    disabled: false
    builders:
      - copyartifact: {project: web-source}
- job:
    name: web-waits
    disabled: false
    triggers:
      - reverse: {jobs: 'web-gone, web-also-gone'}
- job:
    name: web-by-hand
    disabled: false
    parameters:
      - string: {name: WHAT}
    builders:
      - copyartifact: {project: web-source}
""")
    start = "CD job that nothing can start: it has no SCM trigger, timer, other trigger or parameters, and"
    assert messages(tiny_org) == [
        f"web-waits: {REVERSE}: names 'web-also-gone', which is no job of any scope (looked up 'web-also-gone')",
        f"web-waits: {REVERSE}: names 'web-gone', which is no job of any scope (looked up 'web-gone')",
        f"web-orphan: project (hudson.plugins.copyartifact.CopyArtifact): {start} it names no upstream trigger "
        "and no job triggers it (it only copies artifacts of 'web-source' in project "
        "(hudson.plugins.copyartifact.CopyArtifact))",
        f"web-waits: {REVERSE}: {start} none of its upstream names is a job ('web-gone', 'web-also-gone' in "
        f"{REVERSE})",
    ]


def test_triggered_by_a_downstream_list_is_not_orphaned(tiny_org):
    add_yaml(tiny_org, "web", "source.yaml", WEB_SOURCE)
    add_yaml(tiny_org, "web", "chained.yaml", """
- job:
    name: web-smoke
    disabled: false
    builders:
      - copyartifact: {project: web-source}
- job:
    name: web-ui-tests
    disabled: false
    triggers:
      - timed: '@daily'
    publishers:
      - trigger: {project: web-smoke}
""")
    assert messages(tiny_org) == []


def test_variant_service_without_package_job(tiny_org):
    services = tiny_org / "teams" / "web" / "jenkins" / "services.yaml"
    services.write_text(services.read_text() + "    exclude: [{release: upcoming}]\n")
    assert messages(tiny_org) == [
        f"delivery/env-small-upcoming-build: {REVERSE}: environment variant 'small' on release line 'upcoming' "
        "has services with no package job on that line: ui (it triggers on /web-ui-upcoming-package, which no "
        "scope generates)"]
    # The generated pipeline view cannot know what a team's YAML leaves out; one firstJob that finds
    # nothing empties the whole view (delivery-pipeline DeliveryPipelineView.java:535-542): a warning.
    assert [str(w) for w in check_warnings(graph_of_organisation(tiny_org)) if "firstJob" in str(w)] == [
        "pipeline-upcoming: firstJob of component 'ui' (se.diabol.jenkins.pipeline.DeliveryPipelineView): names "
        "'web-ui-upcoming-ci', which is no job of any scope (looked up 'web-ui-upcoming-ci'); the delivery-pipeline "
        "plugin then shows no pipeline at all in this view, only 'Could not find project: web-ui-upcoming-ci' "
        "(DeliveryPipelineView.java:535-542, 570-572)"]


def test_check_or_raise_lists_every_problem(tiny_org):
    add_yaml(tiny_org, "web", "two.yaml", """
- job:
    name: web-x
    disabled: false
    triggers: [{timed: '@daily'}, {reverse: {jobs: web-y1}}]
- job:
    name: web-z
    disabled: false
    triggers: [{timed: '@daily'}, {reverse: {jobs: web-y2}}]
""")
    with pytest.raises(GraphCheckError) as caught:
        check_or_raise(graph_of_organisation(tiny_org))
    assert isinstance(caught.value, EnvDeliveryError)
    assert str(caught.value) == (
        "the job graph has 2 problems:\n"
        f"  web-x: {REVERSE}: names 'web-y1', which is no job of any scope (looked up 'web-y1')\n"
        f"  web-z: {REVERSE}: names 'web-y2', which is no job of any scope (looked up 'web-y2')")
    assert [p.check for p in caught.value.problems] == ["dangling", "dangling"]


def test_unrendered_project_is_noted_not_reported(tiny_org):
    org_file = tiny_org / "delivery.yaml"
    org_file.write_text(org_file.read_text().replace(", local-checkout: teams/web", ""))
    graph = graph_of_organisation(tiny_org)
    assert check(graph) == []
    assert graph.notes == ["project web: its YAML was not rendered here (no local-checkout), so names in "
                           "prefix:web- are not checked"]
