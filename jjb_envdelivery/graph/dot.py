"""The graph as Graphviz DOT text, and as SVG through Graphviz's `dot` when it is installed."""

from __future__ import annotations

import shutil
import subprocess
from typing import Iterable

from ..errors import EnvDeliveryError
from .model import (
    ARTIFACT,
    CI,
    DELIVER,
    ENV_BUILD,
    ENV_CUSTOM,
    ENV_GC,
    ENV_VERIFY,
    FOLDER,
    GENERATES,
    MULTIBRANCH,
    OTHER,
    PACKAGE,
    REPO,
    SCM,
    TRIGGER,
    UPDATER,
    Graph,
)

# One palette for the DOT picture and the HTML page.
NODE_COLOURS = {
    REPO: "#eeeeee", UPDATER: "#d9c8f0", FOLDER: "#f5f5f5", CI: "#cfe3ff", MULTIBRANCH: "#e6f0ff", PACKAGE: "#d5f0d5",
    DELIVER: "#fff0c2", ENV_BUILD: "#ffd9b8", ENV_VERIFY: "#ffc9c9", ENV_GC: "#e0e0e0",
    ENV_CUSTOM: "#f7d4ef", OTHER: "#ffffff",
}
EDGE_STYLES = {
    SCM: ("#777777", "solid"), TRIGGER: ("#1f5fbf", "solid"), ARTIFACT: ("#d9822b", "dashed"),
    GENERATES: ("#7a4fb5", "dotted"),
}
PROBLEM_COLOUR = "#d00000"
ROOT_GROUP = "organisation root"


def quote(text: str) -> str:
    """A DOT double-quoted string: only the quote and the backslash need escaping, and a newline
    would end a label's line, so it is written as DOT's own line break."""
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n")
    return f'"{escaped}"'


def _attrs(**attrs) -> str:
    return "[" + ", ".join(f"{key}={quote(value)}" for key, value in attrs.items()) + "]"


def to_dot(graph: Graph, problem_jobs: Iterable[str] = ()) -> str:
    """Clusters by project, then by release line; folders are left out (they never run)."""
    flagged = set(problem_jobs)
    shown = {node_id for node_id, node in graph.nodes.items() if node.kind != FOLDER}
    lines = [
        "digraph pipeline {",
        "  graph [rankdir=LR, compound=true, fontname=Helvetica, ranksep=1.2, nodesep=0.12];",
        '  node [shape=box, style="rounded,filled", fontname=Helvetica, fontsize=10, height=0.3];',
        "  edge [arrowsize=0.6];",
    ]
    projects = list(graph.projects) + sorted({n.project for n in graph.nodes.values() if n.project}
                                             - set(graph.projects))
    groups = graph.groups()
    for number, project in enumerate([""] + projects):
        members = [(line, nodes) for (p, line), nodes in groups.items() if p == project]
        if not any(n.id in shown for _, nodes in members for n in nodes):
            continue
        lines.append(f"  subgraph {quote(f'cluster_{number}')} {{")
        lines.append(f"    label={quote(project or ROOT_GROUP)}; style=rounded; color=\"#999999\";")
        order = {line: i for i, line in enumerate(("",) + graph.release_lines)}
        for line, nodes in sorted(members, key=lambda m: order.get(m[0], len(order))):
            indent = "    "
            if line:
                lines.append(f"    subgraph {quote(f'cluster_{number}_{line}')} {{")
                lines.append(f"      label={quote(line)}; style=dashed; color=\"#bbbbbb\";")
                indent = "      "
            for node in sorted(nodes, key=lambda n: n.id):
                if node.id not in shown:
                    continue
                attrs = dict(label=node.label or node.id, tooltip=node.id, fillcolor=NODE_COLOURS[node.kind])
                if node.kind == REPO:
                    attrs["shape"] = "cylinder"
                elif node.kind == UPDATER:
                    attrs["shape"] = "component"
                elif node.kind == MULTIBRANCH:
                    attrs["shape"] = "folder"  # an item group of branch jobs, not a job
                if node.id in flagged:
                    attrs.update(color=PROBLEM_COLOUR, penwidth="2.5")
                lines.append(f"{indent}{quote(node.id)} {_attrs(**attrs)};")
            if line:
                lines.append("    }")
        lines.append("  }")
    for edge in graph.edges:
        if edge.source not in shown or edge.target not in shown:
            continue
        colour, style = EDGE_STYLES[edge.kind]
        attrs = dict(color=colour, style=style, tooltip=f"{edge.kind}: {edge.field or 'updater'}")
        if edge.kind == GENERATES:
            attrs["constraint"] = "false"  # keep the pipeline's stages left to right
        lines.append(f"  {quote(edge.source)} -> {quote(edge.target)} {_attrs(**attrs)};")
    lines.append(_legend())
    lines.append("}")
    return "\n".join(lines) + "\n"


def _legend() -> str:
    rows = ["  subgraph cluster_legend {", '    label="legend"; style=rounded; color="#999999";']
    for kind in (REPO, UPDATER, CI, MULTIBRANCH, PACKAGE, DELIVER, ENV_BUILD, ENV_VERIFY, ENV_GC, ENV_CUSTOM, OTHER):
        rows.append(f"    {quote('legend:' + kind)} {_attrs(label=kind, fillcolor=NODE_COLOURS[kind])};")
    for kind, (colour, style) in EDGE_STYLES.items():
        rows.append(f"    {quote('legend-edge:' + kind)} [shape=plaintext, style=\"\", label={quote(kind)}];")
        rows.append(f"    {quote('legend-edge-to:' + kind)} [shape=point, width=0.05];")
        rows.append(f"    {quote('legend-edge:' + kind)} -> {quote('legend-edge-to:' + kind)} "
                    f"{_attrs(color=colour, style=style)};")
    rows.append("  }")
    return "\n".join(rows)


def dot_to_svg(dot_text: str, timeout: float = 600) -> str:
    dot = shutil.which("dot")
    if dot is None:
        raise EnvDeliveryError(
            "Graphviz's `dot` is not installed, so no SVG can be made: install Graphviz "
            "(Debian/Ubuntu: apt-get install graphviz), or use --format html, which needs no Graphviz")
    try:
        done = subprocess.run([dot, "-Tsvg"], input=dot_text.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise EnvDeliveryError(f"`dot -Tsvg` did not finish in {timeout:.0f} s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise EnvDeliveryError(f"`dot -Tsvg` failed (exit {done.returncode}): {message}")
    return done.stdout.decode("utf-8")
