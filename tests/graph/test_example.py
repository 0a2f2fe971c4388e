"""The example organisation passes every check; its graph has the nodes and edges the org implies."""

from __future__ import annotations

import pytest

from jjb_envdelivery.graph import check, check_warnings
from jjb_envdelivery.graph.model import ARTIFACT, TRIGGER
from jjb_envdelivery.model.loader import load_organisation
from jjb_envdelivery.orchestration.checked_render import graph_of_organisation


@pytest.fixture(scope="module")
def example(example_org_dir):
    return load_organisation(example_org_dir), graph_of_organisation(example_org_dir)


def test_example_passes_every_check(example):
    _, graph = example
    assert [str(p) for p in check(graph)] == []
    assert graph.notes == []


def test_example_has_no_warnings(example):
    # Every copy grant matches a job, and no trigger or copy depends on Jenkins's fallback to the
    # full name: the templates and the generator write them '/' + the full name (naming.absolute).
    _, graph = example
    assert [str(w) for w in check_warnings(graph)] == []


@pytest.mark.parametrize("project", ["identity", "portal"])  # a folder team, the prefix team
def test_example_team_names_need_no_fallback(example, project):
    """The team's triggers and copies, and the environment jobs' triggers on the team's package
    jobs, each find their job from the naming job's folder as written (Jenkins.getItem, core
    Jenkins.java:3050-3092), never by the fallback to the full name: no `fallback-name` warning."""
    org, graph = example
    services = len(org.project(project).services)

    def of_team(name):
        node = graph.nodes.get(name)
        return node is not None and node.project == project

    refs = [r for r in graph.references if r.kind in (TRIGGER, ARTIFACT) and (of_team(r.job) or of_team(r.resolved))]
    by_job = [r for r in refs if of_team(r.job)]
    # per service and line: package and deliver each trigger on and copy from their upstream
    assert len(by_job) == services * 3 * 4
    assert len(refs) > len(by_job)  # the environment jobs' triggers on the team's package jobs
    assert all(r.resolved and r.name == "/" + r.resolved and not r.by_fallback for r in refs), \
        [r.name for r in refs if r.by_fallback]
    assert [w for w in check_warnings(graph) if w.check == "fallback-name" and any(map(of_team, w.jobs))] == []


def test_example_counts_follow_from_the_org(example):
    org, graph = example
    services = [s for p in org.projects for s in p.services]
    lines = len(org.release_lines)
    variants = org.environments.variants
    env_lines = sum(len(v.release_lines) for v in variants)
    folders = 1 + sum(p.namespace.kind == "folder" for p in org.projects)
    # identity's YAML adds a multibranch project per service (envdelivery-multibranch-github), its
    # GitHub Enterprise source the repository its CI jobs clone
    multibranch = len(org.project("identity").services)
    assert (len(services), lines, len(variants), env_lines) == (40, 3, 3, 8)
    assert graph.count_nodes() == {
        "ci": 40 * 3, "package": 40 * 3, "deliver": 40 * 3, "multibranch": multibranch,
        "env-build": env_lines, "env-verify": env_lines, "env-gc": env_lines, "env-custom": lines,
        "updater": 2 + len(org.projects), "folder": folders,  # root updater, drift check, child updaters
        # every service has its own repository, plus the teams' repos and the central jobs repo
        "repo": len(services) + len(org.projects) + 1,
    }
    tool = org.environments.provisioning_tool.service
    # Each variant's build job waits for the package jobs of its services and of the tool.
    upstreams = sum(len(set(v.services) | {tool}) * len(v.release_lines) for v in variants)
    root_items = folders + 2 + len(org.projects) + 3 * env_lines + lines  # + root updater, drift check
    assert graph.count_edges() == {
        "scm": 40 * 3 + len(org.projects) + 1 + multibranch,  # CI jobs, child updaters, root updater, branches
        # CI -> package -> deliver, package -> env build, build -> verify -> gc
        "trigger": 2 * 40 * 3 + upstreams + 2 * env_lines,
        # CI -> package -> deliver; the tool's CI -> env build, verify and custom
        "artifact": 2 * 40 * 3 + 2 * env_lines + lines,
        # root updater -> the other root items; child updaters -> their teams' jobs
        "generates": (root_items - 1) + 40 * 3 * 3 + multibranch,
    }
    assert upstreams == 11 * 3 + 40 * 3 + 40 * 2


def test_example_groups_by_project_and_release_line(example):
    org, graph = example
    groups = graph.groups()
    compute = org.project("compute")
    for line in org.release_lines:
        jobs = [n for n in groups[("compute", line.name)] if n.kind in ("ci", "package", "deliver")]
        assert len(jobs) == 3 * len(compute.services)
    portal = {n.id for n in groups[("portal", "current")]}
    assert "portal-billing-current-package" in portal
