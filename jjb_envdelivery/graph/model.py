"""The pipeline graph: jobs (and the repositories that start them) and what connects them.

Plain data; ``build`` fills it from rendered XML, ``checks`` reads it, ``dot`` and ``html`` draw it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from ..errors import EnvDeliveryError


class NodeKind(StrEnum):
    """What a node is; for a job, the stage where it sits in the paper's pipeline."""

    REPO = "repo"
    UPDATER = "updater"
    FOLDER = "folder"
    CI = "ci"
    # A multibranch Pipeline project: an item group whose branch jobs Jenkins creates when it
    # indexes the repository; started by that indexing (webhooks, scans), it never builds itself.
    MULTIBRANCH = "multibranch"
    PACKAGE = "package"
    DELIVER = "deliver"
    ENV_BUILD = "env-build"
    ENV_VERIFY = "env-verify"
    ENV_GC = "env-gc"
    ENV_CUSTOM = "env-custom"
    OTHER = "other"


class EdgeKind(StrEnum):
    SCM = "scm"
    TRIGGER = "trigger"
    ARTIFACT = "artifact"
    GENERATES = "generates"
    VIEW = "view"  # a view's job names: references only, never an edge


class StartKind(StrEnum):
    """Ways a job can start besides an upstream build."""

    SCM = "scm trigger"
    TIMER = "timer"
    PARAMETERS = "parameters"
    OTHER = "other trigger"


# Short names for the members, as the builders and pictures use them.
REPO, UPDATER, FOLDER, CI, PACKAGE, DELIVER = (NodeKind.REPO, NodeKind.UPDATER, NodeKind.FOLDER, NodeKind.CI,
                                               NodeKind.PACKAGE, NodeKind.DELIVER)
ENV_BUILD, ENV_VERIFY, ENV_GC, ENV_CUSTOM, OTHER = (NodeKind.ENV_BUILD, NodeKind.ENV_VERIFY, NodeKind.ENV_GC,
                                                    NodeKind.ENV_CUSTOM, NodeKind.OTHER)
MULTIBRANCH = NodeKind.MULTIBRANCH
NODE_KINDS = tuple(NodeKind)
SCM, TRIGGER, ARTIFACT, GENERATES = EdgeKind.SCM, EdgeKind.TRIGGER, EdgeKind.ARTIFACT, EdgeKind.GENERATES
VIEW = EdgeKind.VIEW
EDGE_KINDS = tuple(k for k in EdgeKind if k != VIEW)
START_SCM, START_TIMER, START_PARAMETERS, START_OTHER = (StartKind.SCM, StartKind.TIMER, StartKind.PARAMETERS,
                                                         StartKind.OTHER)


@dataclass
class Reference:
    """One job name written in a job's (or a view's) XML: an upstream or downstream it triggers or
    copies from, or a job a view shows."""

    job: str  # the job (or view) whose XML holds the name
    kind: EdgeKind  # TRIGGER, ARTIFACT or VIEW
    field: str  # e.g. "upstreamProjects (jenkins.triggers.ReverseBuildTrigger)"
    name: str  # as written, one entry of a comma-separated list
    # True: the name points at an upstream (the edge goes name -> job); False: downstream.
    upstream: bool
    resolved: str | None = None  # the full name of the job it resolves to
    tried: tuple[str, ...] = ()  # full names looked up, in Jenkins's order
    folder: str | None = None  # it resolved to this folder, which cannot be built
    dynamic: bool = False  # holds a $VARIABLE: only known when the build runs
    unverified: bool = False  # lies in a project whose YAML was not rendered here
    context: str = ""  # the item group the consumer resolves it from ('' = the root)
    by_fallback: bool = False  # found only by Jenkins's fallback to the full name
    not_project: str = ""  # it resolved to this job, which the consumer's type filter drops
    broken: str = ""  # what the consumer does when the name finds nothing, for messages
    # it finds nothing, and one of its lookups goes through this multibranch project: it names a
    # branch job, which exists only after branch indexing, so it cannot be judged here
    multibranch: str = ""
    degrades: bool = False  # the consumer shows less without it but still works: a warning, not an error


@dataclass
class Node:
    id: str  # a job's full name, or "repo:<url>"
    kind: NodeKind
    scope: str | None = None  # the scope that generates it (None for repositories)
    project: str | None = None  # the project it belongs to (None: the organisation's root)
    release: str | None = None  # the release line its name says
    service: str | None = None
    variant: str | None = None
    label: str = ""  # short name for pictures
    disabled: bool = False
    starts: frozenset[str] = frozenset()  # START_* ways besides upstream builds
    declares_upstream: bool = False  # has a reverse trigger or copies artifacts
    # CopyArtifactPermissionProperty.projectNameList as written; None: the job has no such property
    copy_grants: tuple[str, ...] | None = None

    @property
    def is_job(self) -> bool:
        """Builds: a job, not a repository or an item group (a folder, a multibranch project)."""
        return self.kind not in (REPO, FOLDER, MULTIBRANCH)

    @property
    def group(self) -> tuple[str, str]:
        return (self.project or "", self.release or "")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: EdgeKind
    field: str = ""  # where the XML says it; "" for generates
    declared_by: str = ""  # the job whose XML says it


@dataclass
class Graph:
    name: str = ""  # the organisation's
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    # lower-cased item name -> [(name as generated, scope)], for the duplicate check
    generated: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    projects: tuple[str, ...] = ()  # in org-file order
    release_lines: tuple[str, ...] = ()
    # lower-cased name of each service's package job on each line -> (service, release line):
    # what the env build jobs wait for, generated or not (with the stage named by
    # ``build_stage``: deliver jobs for a provider that builds from delivered images)
    package_jobs: dict[str, tuple[str, str]] = field(default_factory=dict)
    build_stage: str = "package"
    notes: list[str] = field(default_factory=list)
    # job-name prefixes of the projects whose YAML was not rendered: names there are not checked
    unrendered_prefixes: tuple[str, ...] = ()

    def edges_of(self, *kinds: str) -> list[Edge]:
        return [e for e in self.edges if e.kind in kinds]

    def count_nodes(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for node in self.nodes.values():
            counts[node.kind] += 1
        return dict(counts)

    def count_edges(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for edge in self.edges:
            counts[edge.kind] += 1
        return dict(counts)

    def groups(self) -> dict[tuple[str, str], list[Node]]:
        """Nodes by (project, release line); "" stands for the root and for no release line."""
        result: dict[tuple[str, str], list[Node]] = defaultdict(list)
        for node in self.nodes.values():
            result[node.group].append(node)
        return dict(result)

    def for_release(self, release: str) -> Graph:
        """The jobs of one release line, those of none (updaters, team jobs without a line),
        and the repositories that start them."""
        if release not in self.release_lines:
            known = ", ".join(self.release_lines)
            raise EnvDeliveryError(f"no release line {release!r} (release lines: {known})")
        keep = {n.id for n in self.nodes.values() if n.kind != REPO and n.release in (release, None)}
        keep |= {e.source for e in self.edges if e.kind == SCM and e.target in keep}
        sub = Graph(
            nodes={k: v for k, v in self.nodes.items() if k in keep},
            edges=[e for e in self.edges if e.source in keep and e.target in keep],
            references=[r for r in self.references if r.job in keep],
            name=self.name, generated=self.generated, projects=self.projects, release_lines=(release,),
            package_jobs=self.package_jobs, build_stage=self.build_stage, notes=list(self.notes),
            unrendered_prefixes=self.unrendered_prefixes,
        )
        return sub

    def to_json(self) -> dict:
        return {
            "organisation": self.name,
            "nodes": [
                {"id": n.id, "kind": n.kind, "scope": n.scope, "project": n.project, "release": n.release,
                 "service": n.service, "variant": n.variant, "disabled": n.disabled,
                 "starts": sorted(n.starts)}
                for n in sorted(self.nodes.values(), key=lambda n: n.id)
            ],
            "edges": [{"source": e.source, "target": e.target, "kind": e.kind, "field": e.field}
                      for e in self.edges],
            "counts": {"nodes": self.count_nodes(), "edges": self.count_edges()},
            "notes": list(self.notes),
        }
