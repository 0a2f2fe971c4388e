"""Checks of the pipeline graph, each problem naming the job(s) and the XML field.

A *CD job* is a job that declares an upstream (a reverse build trigger or a copied artifact) and
has no other way to start: no SCM trigger, no timer, no other trigger, no build parameters.

``check`` returns the errors, which fail ``render``, ``plan``, ``update`` and ``graph``;
``check_warnings`` the softer findings ``graph`` lists without failing: names that work only
through Jenkins's fallback to the full name, copy grants that match no job, view names whose view
merely shows less (a list view's ``jobNames``, a pipeline's ``lastJob``). Plugin sources are
cited at the commits of shared/reference/jenkins-plugin-semantics.md §0.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Sequence

from ..errors import EnvDeliveryError
from ..jenkins_names import copy_name_match, copy_permitted, parent_of, relative_name_from
from .build import FIELD_COPY_GRANTS
from .model import ARTIFACT, CI, ENV_BUILD, MULTIBRANCH, TRIGGER, Edge, Graph, Reference


class GraphCheck(StrEnum):
    """The checks, as `graph --format json` names them."""

    DANGLING = "dangling"
    CYCLE = "cycle"
    DUPLICATE = "duplicate"
    UNTRIGGERABLE = "untriggerable"
    VARIANT = "variant-services"
    COPY_PERMISSION = "copy-permission"
    COPY_GRANT = "copy-grant"  # warning
    FALLBACK_NAME = "fallback-name"  # warning


DANGLING, CYCLE, DUPLICATE = GraphCheck.DANGLING, GraphCheck.CYCLE, GraphCheck.DUPLICATE
UNTRIGGERABLE, VARIANT = GraphCheck.UNTRIGGERABLE, GraphCheck.VARIANT
COPY_PERMISSION, COPY_GRANT, FALLBACK_NAME = GraphCheck.COPY_PERMISSION, GraphCheck.COPY_GRANT, GraphCheck.FALLBACK_NAME


class Level(StrEnum):
    """An error fails render, plan, update and graph; a warning is listed by graph only."""

    ERROR = "error"
    WARNING = "warning"


ERROR, WARNING = Level.ERROR, Level.WARNING


@dataclass(frozen=True)
class GraphProblem:
    check: GraphCheck
    jobs: tuple[str, ...]
    field: str
    message: str
    level: Level = ERROR

    def __str__(self) -> str:
        return self.message


class GraphCheckError(EnvDeliveryError):
    """The graph has problems; holds them all, so one run reports every one."""

    def __init__(self, problems: Sequence[GraphProblem]):
        self.problems = list(problems)
        count = len(self.problems)
        heading = "1 problem" if count == 1 else f"{count} problems"
        super().__init__(f"the job graph has {heading}:\n" + "\n".join(f"  {p}" for p in self.problems))


def check(graph: Graph) -> list[GraphProblem]:
    """The errors: what Jenkins or a plugin would break on."""
    variant_problems, explained = _variants(graph)
    return (_dangling(graph, explained) + _cycles(graph) + _duplicates(graph) + _untriggerable(graph)
            + variant_problems + _copy_permission(graph))


def check_warnings(graph: Graph) -> list[GraphProblem]:
    """The warnings: what works today but breaks easily, or does nothing."""
    return _dangling(graph, set(), WARNING) + _copy_grants(graph) + _fallback_names(graph)


def check_or_raise(graph: Graph) -> Graph:
    problems = check(graph)
    if problems:
        raise GraphCheckError(problems)
    return graph


def _looked_up(tried: Sequence[str]) -> str:
    return " then ".join(repr(t) for t in tried)


def _dangling(graph: Graph, explained: set[int], level: Level = ERROR) -> list[GraphProblem]:
    """Names that find no job; those whose consumer only degrades (``Reference.degrades``) are
    warnings, the others errors."""
    problems = []
    for ref in graph.references:
        if ref.resolved or ref.dynamic or ref.unverified or id(ref) in explained or ref.degrades != (level == WARNING):
            continue
        multibranch = graph.nodes.get(ref.folder or ref.multibranch or "")
        if multibranch is not None and multibranch.kind == MULTIBRANCH:
            text = _multibranch_text(graph, ref, multibranch.id)
        elif ref.folder:
            text = f"names {ref.name!r}, which is the folder {ref.folder!r}, not a job"
        elif ref.not_project:
            text = (f"names {ref.name!r}, which is the Pipeline job {ref.not_project!r}: the plugin looks it up "
                    "as an AbstractProject (ProjectUtil.java:126-128) and finds nothing (for a project whose "
                    "services use envdelivery-pipeline-service, set `ci: pipeline` in the org file: its "
                    "services' components then start at the package job)")
        else:
            text = f"names {ref.name!r}, which is no job of any scope (looked up {_looked_up(ref.tried)})"
        if ref.broken:
            text += f"; {ref.broken}"
        problems.append(GraphProblem(DANGLING, (ref.job,), ref.field, f"{ref.job}: {ref.field}: {text}", level))
    return sorted(problems, key=lambda p: (p.jobs, p.message))


def _multibranch_text(graph: Graph, ref: Reference, project: str) -> str:
    """Why a name of, or into, a multibranch project is a problem, and what to name instead."""
    node = graph.nodes[project]
    lines = [n.id for n in graph.nodes.values()
             if n.kind == CI and n.project == node.project and n.service and node.service
             and n.service.lower() == node.service.lower()]
    instead = f" ({', '.join(sorted(lines))})" if lines else ""
    if ref.folder:
        return (f"names {ref.name!r}, which is the multibranch project {project!r}: an item group of branch jobs, it "
                "never builds itself, so it neither triggers anything nor has artifacts; name the release line's CI "
                f"job{instead}")
    return (f"names {ref.name!r}, a branch job of multibranch project {project!r}: branch jobs exist only after "
            "branch indexing and their properties (triggers, copy permissions) come from the Jenkinsfile, so "
            f"nothing here can check it; CD jobs must hang off the release line's CI job{instead}")


def _describe_edge(edge: Edge) -> str:
    what = "triggers" if edge.kind == TRIGGER else "gives its artifacts to"
    return f"{edge.source} {what} {edge.target} ({edge.field} of {edge.declared_by})"


def _cycles(graph: Graph) -> list[GraphProblem]:
    successors: dict[str, dict[str, Edge]] = {}
    for edge in graph.edges_of(TRIGGER, ARTIFACT):
        successors.setdefault(edge.source, {}).setdefault(edge.target, edge)
    problems = []
    for component in _strong_components(successors):
        start = min(component)
        if len(component) == 1 and start not in successors.get(start, {}):
            continue
        path = _shortest_cycle(start, successors, component)
        steps = [successors[a][b] for a, b in zip(path, path[1:], strict=False)]
        jobs = " -> ".join(path)
        problems.append(GraphProblem(
            CYCLE, tuple(path[:-1]), ", ".join(dict.fromkeys(e.field for e in steps)),
            f"{jobs}: cycle of trigger/artifact edges: " + "; ".join(_describe_edge(e) for e in steps)))
    return sorted(problems, key=lambda p: p.jobs)


def _strong_components(successors: dict[str, dict[str, Edge]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative: a long pipeline must not hit Python's recursion limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    nodes = sorted(set(successors) | {t for targets in successors.values() for t in targets})
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(successors.get(root, {}))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(successors.get(child, {})))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _shortest_cycle(start: str, successors: dict[str, dict[str, Edge]], component: set[str]) -> list[str]:
    """start -> ... -> start, breadth first inside the component (so always found)."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(successors.get(node, {})):
            if child == start:
                path = [start]
                while node != start:
                    path.append(node)
                    node = previous[node]
                return [start] + path[1:][::-1] + [start]
            if child in component and child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError(f"no cycle through {start}")  # unreachable for a strong component


def _duplicates(graph: Graph) -> list[GraphProblem]:
    problems = []
    for entries in graph.generated.values():
        if len(entries) < 2:
            continue
        where = ", ".join(f"{name!r} by scope {scope}" for name, scope in entries)
        problems.append(GraphProblem(
            DUPLICATE, tuple(dict.fromkeys(name for name, _ in entries)), "name",
            f"{entries[0][0]}: name: generated {len(entries)} times (Jenkins compares item names "
            f"without case): {where}"))
    return sorted(problems, key=lambda p: p.jobs)


def _untriggerable(graph: Graph) -> list[GraphProblem]:
    triggered = {e.target for e in graph.edges_of(TRIGGER)}
    refs_of: dict[str, list] = {}
    for ref in graph.references:
        refs_of.setdefault(ref.job, []).append(ref)
    problems = []
    for node in sorted(graph.nodes.values(), key=lambda n: n.id):
        if not node.is_job or not node.declares_upstream or node.starts or node.id in triggered:
            continue
        refs = refs_of.get(node.id, [])
        if any(r.dynamic or r.unverified for r in refs if r.kind == TRIGGER):
            continue  # cannot be known before the build runs, or here
        upstream = [r for r in refs if r.upstream and r.kind == TRIGGER]
        if upstream:
            names = ", ".join(f"{r.name!r}" for r in upstream)
            reason = f"none of its upstream names is a job ({names} in {upstream[0].field})"
            where = upstream[0].field
        else:
            copied = [r for r in refs if r.kind == ARTIFACT]
            names = ", ".join(f"{r.name!r}" for r in copied)
            reason = (f"it names no upstream trigger and no job triggers it (it only copies artifacts "
                      f"of {names} in {copied[0].field})")
            where = copied[0].field
        problems.append(GraphProblem(
            UNTRIGGERABLE, (node.id,), where,
            f"{node.id}: {where}: CD job that nothing can start: it has no SCM trigger, timer, other "
            f"trigger or parameters, and {reason}"))
    return problems


def _variants(graph: Graph) -> tuple[list[GraphProblem], set[int]]:
    """Services of a variant with no package job on the env build job's release line. The
    references this explains are left out of the dangling check: one problem, not one per service."""
    problems, explained = [], set()
    missing: dict[str, list] = {}
    for ref in graph.references:
        node = graph.nodes.get(ref.job)
        if node is None or node.kind != ENV_BUILD or ref.resolved or ref.dynamic or ref.unverified:
            continue
        if ref.folder or not (ref.upstream and ref.kind == TRIGGER):
            continue
        hit = next((graph.package_jobs[t.lower()] for t in ref.tried if t.lower() in graph.package_jobs), None)
        if hit is None or hit[1] != node.release:
            continue
        explained.add(id(ref))
        missing.setdefault(node.id, []).append((hit[0], ref))
    for job, entries in sorted(missing.items()):
        node = graph.nodes[job]
        services = ", ".join(service for service, _ in entries)
        names = ", ".join(ref.name for _, ref in entries)
        field = entries[0][1].field
        problems.append(GraphProblem(
            VARIANT, (job,), field,
            f"{job}: {field}: environment variant {node.variant!r} on release line {node.release!r} "
            f"has services with no {graph.build_stage} job on that line: {services} (it triggers on {names}, "
            "which no scope generates)"))
    return problems, explained


def _seen_from(group: str) -> str:
    return f"folder {group!r}" if group else "the top level"


# What a copy the property does not permit runs into (jenkins-plugin-semantics.md §5.1, §13).
REFUSED = ("On a secured Jenkins whose builds run as SYSTEM (no QueueItemAuthenticator), copyartifact in its "
           "production mode then allows the copy only if 'authenticated' may READ {source}, else {copier} fails with "
           "'Unable to find project for artifact copy: {name}' (CopyArtifact.java:456-491, 580-617)")


def _copy_permission(graph: Graph) -> list[GraphProblem]:
    """Every artifact copy against the source job's CopyArtifactPermissionProperty, matched as
    ``canCopiedBy`` matches it (CopyArtifactPermissionProperty.java:99-133): the copier's name
    relative to the source's folder, or '/' + its full name; whole names, case-sensitive, '*'
    any characters."""
    problems: dict[tuple[str, str], GraphProblem] = {}
    for ref in graph.references:
        if ref.kind != ARTIFACT or not ref.resolved or (ref.job, ref.resolved) in problems:
            continue
        copier, source = ref.job, ref.resolved
        grants = graph.nodes[source].copy_grants
        if grants is not None and copy_permitted(grants, copier, source):
            continue
        folder = parent_of(source)
        relative, absolute = relative_name_from(copier, folder), "/" + copier
        copies = f"{copier} to copy its artifacts ({copier}'s CopyArtifact project {ref.name!r})"
        refused = REFUSED.format(copier=copier, name=ref.name, source=source)
        if grants is None:
            text = (f"{source}: {FIELD_COPY_GRANTS}: missing: nothing permits {copies}: {source} has no "
                    f"CopyArtifactPermissionProperty. {refused}. Fix: give {source} the property (JJB: properties: "
                    f"[copyartifact: {{projects: ...}}]) listing {absolute!r} (or {relative!r}, the copier's name "
                    f"relative to {_seen_from(folder)})")
        else:
            entries = ", ".join(repr(e) for e in grants) or "none"
            text = (f"{source}: {FIELD_COPY_GRANTS}: does not permit {copies}: no entry of "
                    f"CopyArtifactPermissionProperty.projectNameList ({entries}) matches {relative!r} (the copier's "
                    f"name relative to {_seen_from(folder)}) or {absolute!r} (whole names, case-sensitive, '*' any "
                    "characters: CopyArtifactPermissionProperty.java:99-133)")
            bare = [e for e in grants if copy_name_match(copier, e)]
            if bare:
                text += (f"; {', '.join(repr(e) for e in bare)} matches its full name without the leading '/', "
                         "which copyartifact never compares")
            text += f". {refused}. Fix: add {absolute!r} (or {relative!r}) to the list"
        problems[(copier, source)] = GraphProblem(COPY_PERMISSION, (source, copier), FIELD_COPY_GRANTS, text)
    return sorted(problems.values(), key=lambda p: (p.jobs, p.message))


def _copy_grants(graph: Graph) -> list[GraphProblem]:
    """Entries of a CopyArtifactPermissionProperty that match no generated job: grants to nothing."""
    jobs = [n.id for n in graph.nodes.values() if n.is_job]
    names_from: dict[str, list[tuple[str, str]]] = {}  # folder -> every job's (relative, absolute) names

    def matches(entry: str, folder: str) -> bool:
        if folder not in names_from:
            names_from[folder] = [(relative_name_from(j, folder), "/" + j) for j in jobs]
        return any(copy_name_match(relative, entry) or copy_name_match(absolute, entry)
                   for relative, absolute in names_from[folder])

    problems = []
    for node in sorted(graph.nodes.values(), key=lambda n: n.id):
        folder = parent_of(node.id)
        for entry in dict.fromkeys(node.copy_grants or ()):
            if matches(entry, folder) or _may_be_unrendered(entry, folder, graph):
                continue
            text = (f"{node.id}: {FIELD_COPY_GRANTS}: entry {entry!r} matches no job of any scope: copyartifact "
                    f"compares it with a copier's name relative to {_seen_from(folder)} and with '/' + its full "
                    "name (CopyArtifactPermissionProperty.java:99-133), so it grants nothing")
            if not entry.startswith("/") and matches("/" + entry.strip(), folder):
                text += f"; did you mean {'/' + entry.strip()!r}?"
            problems.append(GraphProblem(COPY_GRANT, (node.id,), FIELD_COPY_GRANTS, text, WARNING))
    return problems


def _may_be_unrendered(entry: str, folder: str, graph: Graph) -> bool:
    """Could the entry name a job of a project whose YAML was not rendered here?"""
    if not graph.unrendered_prefixes:
        return False
    literal = entry.split("*")[0]
    full = literal[1:] if literal.startswith("/") else (f"{folder}/{literal}" if folder else literal)
    parts: list[str] = []
    for token in full.split("/"):
        if token == "..":
            parts = parts[:-1]
        elif token != ".":
            parts.append(token)
    full = "/".join(parts)
    wild = "*" in entry
    return any(full.startswith(prefix) or (wild and prefix.startswith(full)) for prefix in graph.unrendered_prefixes)


def _fallback_names(graph: Graph) -> list[GraphProblem]:
    """Names that find their job only through ``Jenkins.getItem``'s fallback to the full name."""
    problems = []
    for ref in graph.references:
        target = ref.resolved or ref.not_project
        if not ref.by_fallback or not target:
            continue
        relative = relative_name_from(target, ref.context)
        text = (f"{ref.job}: {ref.field}: {ref.name!r} finds {target} only through Jenkins's fallback to the "
                f"full name: relative to {_seen_from(ref.context)} it means {ref.tried[0]!r}, which does not exist "
                "(Jenkins.getItem, Jenkins.java:3050-3092). It works, but a rename or move in the UI does not "
                "rewrite it (Items.computeRelativeNamesAfterRenaming reads it as that relative name, Items.java:"
                f"285-349), and once {ref.tried[0]!r} exists it is found instead. Write {relative!r} or "
                f"{'/' + target!r}")
        problems.append(GraphProblem(FALLBACK_NAME, (ref.job,), ref.field, text, WARNING))
    return sorted(problems, key=lambda p: (p.jobs, p.message))
