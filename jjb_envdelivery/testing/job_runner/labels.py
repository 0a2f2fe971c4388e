"""Agents and label expressions: which agent runs a job.

``AbstractProject.getAssignedLabel`` (core AbstractProject.java:388-395): a job that may roam
(``canRoam`` true) runs anywhere; otherwise on the nodes matching ``assignedNode``, or, without
one, on the built-in node. A node carries its configured labels plus its own name (its "self
label", core Node.java:338-343). Label expressions follow core's grammar
(core/src/main/antlr4/hudson/model/labels/LabelExpressionParser.g4 and …Lexer.g4): atoms or
"quoted atoms", ``!``, ``&&``, ``||``, ``->``, ``<->`` and parentheses, binding in that order
(``!`` tightest). Atoms are case-sensitive.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .errors import RunnerError

BUILT_IN = "built-in"  # the built-in node's self label since Jenkins 2.307

Label = Callable[[frozenset[str]], bool]


@dataclass(frozen=True)
class Agent:
    name: str
    labels: tuple[str, ...]  # configured labels, without the node's own name

    @property
    def atoms(self) -> frozenset[str]:
        return frozenset(self.labels) | {self.name}

    @property
    def node_labels(self) -> str:
        """``NODE_LABELS``: every assigned label, the self label included, space-separated
        (core CoreEnvironmentContributor.java:66-67). Jenkins's order is a HashSet's; sorted here."""
        return " ".join(sorted(self.atoms))


class Agents:
    """The runner's nodes, in the order given. ``None``: one built-in node that takes any job."""

    def __init__(self, agents: Mapping[str, Iterable[str]] | None) -> None:
        self.any_label = agents is None
        given = {BUILT_IN: ()} if agents is None else agents
        if not given:
            raise RunnerError("agents: at least one agent is needed")
        self.agents = [Agent(name, tuple(labels)) for name, labels in given.items()]
        for agent in self.agents:
            if not agent.name or any(c.isspace() for c in agent.name):
                raise RunnerError(f"agents: {agent.name!r} is not a node name")

    @property
    def only_built_in(self) -> bool:
        """No agents besides the built-in node (``Jenkins.getNodes()`` is empty)."""
        return all(a.name == BUILT_IN for a in self.agents)

    def choose(self, job: str, can_roam: bool, assigned_node: str | None) -> Agent:
        """The first agent that may run the job; RunnerError where Jenkins would leave the build
        in the queue forever ("There are no nodes with the label …")."""
        if self.any_label or can_roam:
            return self.agents[0]
        expression = BUILT_IN if assigned_node is None else assigned_node
        label = parse_label(expression, job)
        for agent in self.agents:
            if label(agent.atoms):
                return agent
        names = ", ".join(f"{a.name} [{a.node_labels}]" for a in self.agents)
        raise RunnerError(f"{job}: assignedNode {expression!r}: no agent matches it (agents: "
                          f"{names}); Jenkins would leave the build waiting in the queue forever")


_TOKEN = re.compile(r'\s*(?:(?P<op>&&|\|\||<->|->|!|\(|\))|"(?P<quoted>(?:\\.|[^"\\\r\n])*)"'
                    r"|(?P<atom>(?:-(?!>)|[^&|!<>()\s\"'-])+))")


def parse_label(expression: str, job: str = "") -> Label:
    """Compile a label expression into a predicate over a node's label atoms."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = expression.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise RunnerError(f"{job}: assignedNode {expression!r}: not a label expression "
                              f"(at {text[pos:]!r})")
        pos = m.end()
        if m.group("op"):
            tokens.append(("op", m.group("op")))
        elif m.group("quoted") is not None:
            tokens.append(("atom", re.sub(r"\\(.)", r"\1", m.group("quoted"))))
        elif m.group("atom"):
            tokens.append(("atom", m.group("atom")))
        else:  # trailing blanks
            break
    if not tokens:
        # An empty expression is one label atom "" (Jenkins.getLabel's lax fallback), which no
        # node carries.
        return lambda atoms: "" in atoms
    parser = _Parser(tokens, expression, job)
    label = parser.iff()
    if parser.pos != len(tokens):
        raise RunnerError(f"{job}: assignedNode {expression!r}: unexpected "
                          f"{tokens[parser.pos][1]!r}")
    return label


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], expression: str, job: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.expression = expression
        self.job = job

    def peek(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "op":
            return self.tokens[self.pos][1]
        return None

    def fail(self, what: str) -> RunnerError:
        return RunnerError(f"{self.job}: assignedNode {self.expression!r}: {what}")

    def iff(self) -> Label:  # term1: term2 ('<->' term2)*
        left = self.implies()
        while self.peek() == "<->":
            self.pos += 1
            right = self.implies()
            left = (lambda a, b: lambda atoms: a(atoms) == b(atoms))(left, right)
        return left

    def implies(self) -> Label:  # term2: term3 ('->' term3)?
        left = self.disjunction()
        if self.peek() == "->":
            self.pos += 1
            right = self.disjunction()
            left = (lambda a, b: lambda atoms: not a(atoms) or b(atoms))(left, right)
        return left

    def disjunction(self) -> Label:  # term3: term4 ('||' term4)*
        left = self.conjunction()
        while self.peek() == "||":
            self.pos += 1
            right = self.conjunction()
            left = (lambda a, b: lambda atoms: a(atoms) or b(atoms))(left, right)
        return left

    def conjunction(self) -> Label:  # term4: term5 ('&&' term5)*
        left = self.negation()
        while self.peek() == "&&":
            self.pos += 1
            right = self.negation()
            left = (lambda a, b: lambda atoms: a(atoms) and b(atoms))(left, right)
        return left

    def negation(self) -> Label:  # term5: '!'? term6
        if self.peek() == "!":
            self.pos += 1
            inner = self.primary()
            return lambda atoms: not inner(atoms)
        return self.primary()

    def primary(self) -> Label:  # term6: '(' term1 ')' | ATOM | STRINGLITERAL
        if self.pos >= len(self.tokens):
            raise self.fail("ends too early")
        kind, value = self.tokens[self.pos]
        self.pos += 1
        if kind == "atom":
            return lambda atoms: value in atoms
        if value == "(":
            inner = self.iff()
            if self.peek() != ")":
                raise self.fail("missing ')'")
            self.pos += 1
            return inner
        raise self.fail(f"unexpected {value!r}")
