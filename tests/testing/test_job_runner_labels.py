"""Which agent runs a job: label expressions and node routing.

Sources: core AbstractProject.java:388-395 (canRoam → any node; no assignedNode → the built-in
node; else the label expression), Node.java:338-343 (a node's own name is one of its labels),
core/src/main/antlr4/hudson/model/labels/LabelExpression{Lexer,Parser}.g4 (the grammar and its
precedence), CoreEnvironmentContributor.java:58-67 (NODE_NAME, NODE_LABELS, EXECUTOR_NUMBER).
"""

from __future__ import annotations

import pytest

from jjb_envdelivery.testing.job_runner import JobRunner, RunnerError
from jjb_envdelivery.testing.job_runner.labels import parse_label


@pytest.mark.parametrize("expression, atoms, expected", [
    ("builders", {"builders"}, True),
    ("builders", {"Builders"}, False),  # atoms are case-sensitive
    ("linux && docker", {"linux"}, False),
    ("linux && docker", {"linux", "docker"}, True),
    ("linux || docker", {"docker"}, True),
    ("!windows", {"linux"}, True),
    ("!windows && linux", {"windows", "linux"}, False),  # ! binds tighter than &&
    ("a || b && c", {"a"}, True),  # && binds tighter than ||
    ("(a || b) && c", {"a"}, False),
    ("jjb-updater", {"jjb-updater"}, True),  # '-' inside an atom
    ("a->b", {"a"}, False),  # implication, not the atom "a->b"
    ("a->b", {"c"}, True),
    ("a <-> b", {"a", "b"}, True),
    ("a <-> b", {"b"}, False),
    ('"with space"', {"with space"}, True),
])
def test_label_expressions(expression: str, atoms: set[str], expected: bool) -> None:
    assert parse_label(expression)(frozenset(atoms)) is expected


@pytest.mark.parametrize("bad", ["a &&", "(a", "a b", "&& a", "a )"])
def test_malformed_label_expressions_are_refused(bad: str) -> None:
    with pytest.raises(RunnerError, match="assignedNode"):
        parse_label(bad, "job")


def _env_probe(jr) -> str:
    return jr.shell('echo "node=$NODE_NAME labels=$NODE_LABELS executor=$EXECUTOR_NUMBER '
                    'ws=$WORKSPACE"')


def test_a_job_with_a_node_runs_on_the_agent_with_that_label(jr, bare_emu, tmp_path) -> None:
    # Defect 2: `node: builders` must route the job to the agent labelled builders.
    jr.put_job(bare_emu, "team/build", jr.freestyle(node="builders", builders=_env_probe(jr)))
    jr.put_job(bare_emu, "team/anywhere", jr.freestyle(builders=_env_probe(jr)))
    home = tmp_path / "home"
    runner = JobRunner(bare_emu, home, agents={"built-in": [], "agent-1": ["builders", "linux"]})
    runner.schedule("team/build")
    runner.schedule("team/anywhere")
    routed, roaming = runner.run_queue()
    assert routed.node == "agent-1"
    assert "node=agent-1 labels=agent-1 builders linux executor=0" in routed.console
    assert routed.workspace == home / "agents" / "agent-1" / "workspace" / "team" / "build"
    assert f"ws={routed.workspace}" in routed.console
    assert "Building remotely on agent-1 (builders linux) in workspace" in routed.console
    assert roaming.node == "built-in"  # canRoam: the first agent
    assert "node=built-in labels=built-in" in roaming.console
    assert "Building on the built-in node in workspace" in roaming.console


def test_no_agent_for_the_label_is_refused_before_the_build(jr, bare_emu, tmp_path) -> None:
    jr.put_job(bare_emu, "gpu-job", jr.freestyle(node="gpu && linux", builders=jr.shell("true")))
    runner = JobRunner(bare_emu, tmp_path / "home", agents={"built-in": [], "a": ["linux"]})
    runner.schedule("gpu-job")
    with pytest.raises(RunnerError, match=r"gpu-job: assignedNode 'gpu && linux': no agent "
                                          r"matches it .*waiting in the queue forever"):
        runner.run_next()
    assert runner.run_next() is None  # the item left the queue
    assert bare_emu.state.find("gpu-job").builds == []


def test_a_node_name_is_one_of_its_labels_and_no_assigned_node_means_built_in(
        jr, bare_emu, tmp_path) -> None:
    jr.put_job(bare_emu, "by-name", jr.freestyle(node="agent-2", builders=jr.shell("true")))
    # canRoam false without assignedNode: the built-in node (AbstractProject.java:392-393)
    pinned = jr.freestyle(builders=jr.shell("true")).replace("<canRoam>true</canRoam>",
                                                             "<canRoam>false</canRoam>")
    jr.put_job(bare_emu, "pinned", pinned)
    runner = JobRunner(bare_emu, tmp_path / "home",
                       agents={"agent-1": [], "agent-2": [], "built-in": []})
    runner.schedule("by-name")
    runner.schedule("pinned")
    assert [b.node for b in runner.run_queue()] == ["agent-2", "built-in"]


def test_without_agents_one_built_in_node_takes_every_label(jr, bare_emu, tmp_path) -> None:
    jr.put_job(bare_emu, "x", jr.freestyle(node="anything && !else", builders=_env_probe(jr)))
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("x")
    build = runner.run_next()
    assert build.node == "built-in" and "node=built-in labels=built-in" in build.console
    assert build.workspace == tmp_path / "home" / "workspace" / "x"
    assert f"Building in workspace {build.workspace}" in build.console
