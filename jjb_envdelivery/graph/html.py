"""A self-contained HTML page of the graph: SVG laid out here, no Graphviz, no external URL.

Layout: stages left to right (repository, CI, branches (multibranch projects, when there are
any), package, deliver, env build, verify, gc, custom, other), updaters in a row on top, one lane
per project (the organisation's root lane first).
Views: an overview with each project's jobs of one stage collapsed into one box, one view per
release line, and all jobs. A few lines of inline JS switch views (also by URL hash: #current)
and highlight a job's edges on hover.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from html import escape
from typing import Iterable

from .dot import EDGE_STYLES, NODE_COLOURS, PROBLEM_COLOUR, ROOT_GROUP
from .model import (
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
    UPDATER,
    Graph,
    Node,
)

COLUMNS = (REPO, CI, MULTIBRANCH, PACKAGE, DELIVER, ENV_BUILD, ENV_VERIFY, ENV_GC, ENV_CUSTOM, OTHER)
COLUMN_TITLES = {REPO: "repository", CI: "CI", MULTIBRANCH: "branches", PACKAGE: "package", DELIVER: "deliver",
                 ENV_BUILD: "env build", ENV_VERIFY: "env verify", ENV_GC: "env gc", ENV_CUSTOM: "custom env",
                 OTHER: "other jobs"}
# Columns drawn only when some node sits in them.
OPTIONAL_COLUMNS = (MULTIBRANCH, OTHER)
LEFT, COL_W, BOX_W, BOX_H, ROW_H, PAD, TOP, GUTTER_X = 190, 200, 164, 20, 26, 10, 34, 24


@dataclass
class Box:
    id: str
    kind: str
    x: float
    y: float
    lines: tuple[str, ...]
    title: str
    h: float = BOX_H
    w: float = BOX_W
    flagged: bool = False


@dataclass
class Link:
    source: str
    target: str
    kind: str
    title: str
    count: int = 1


@dataclass
class Picture:
    width: float = 0
    height: float = 0
    boxes: dict[str, Box] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    lanes: list[tuple[str, float, float]] = field(default_factory=list)  # label, y, height
    columns: list[str] = field(default_factory=list)


def _lanes(graph: Graph) -> list[str]:
    extra = sorted({n.project for n in graph.nodes.values() if n.project} - set(graph.projects))
    return [""] + list(graph.projects) + extra


def _column(node: Node) -> str | None:
    return None if node.kind in (FOLDER, UPDATER) else node.kind if node.kind in COLUMNS else OTHER


def _used_columns(nodes: Iterable[Node]) -> list[str]:
    used = {_column(n) for n in nodes}
    return [c for c in COLUMNS if c in used or c not in OPTIONAL_COLUMNS]


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _gutter(picture: Picture, lane: str, y: float, updaters: list[Node], flagged: set[str]) -> float:
    """A lane's name and, under it, its updater(s), in the left gutter; returns the height needed."""
    for i, node in enumerate(updaters):
        picture.boxes[node.id] = Box(node.id, UPDATER, GUTTER_X, y + PAD + 18 + i * ROW_H, (_short(node.label),),
                                     node.id, w=LEFT - GUTTER_X - 14, flagged=node.id in flagged)
    picture.lanes.append((lane or ROOT_GROUP, y, 0))
    return 2 * PAD + 18 + len(updaters) * ROW_H


def _updaters_by_lane(nodes: Iterable[Node]) -> dict[str, list[Node]]:
    result: dict[str, list[Node]] = defaultdict(list)
    for node in sorted(nodes, key=lambda n: n.id):
        if node.kind == UPDATER:
            result[node.project or ""].append(node)
    return result


def _close_lane(picture: Picture, height: float) -> None:
    label, y, _ = picture.lanes[-1]
    picture.lanes[-1] = (label, y, height)


def detail_picture(graph: Graph, flagged: set[str]) -> Picture:
    """Every job: in its lane, one row per (service or name, release line), so a service's CI,
    package and deliver jobs sit on one row."""
    picture = Picture()
    nodes = [n for n in graph.nodes.values() if n.kind != FOLDER]
    picture.columns = _used_columns(nodes)
    col_index = {c: i for i, c in enumerate(picture.columns)}
    line_order = {line: i for i, line in enumerate(graph.release_lines)}
    updaters = _updaters_by_lane(nodes)
    y = TOP

    def key(node: Node) -> tuple:
        return (node.service or node.variant or node.label, line_order.get(node.release or "", -1))

    # A repository sits on the row of the first job it starts.
    starts: dict[str, list[Node]] = defaultdict(list)
    for edge in graph.edges:
        if edge.kind == SCM and edge.target in graph.nodes:
            starts[edge.source].append(graph.nodes[edge.target])
    by_lane: dict[str, list[Node]] = defaultdict(list)
    for node in nodes:
        if node.kind != UPDATER:
            by_lane[node.project or ""].append(node)
    for lane in _lanes(graph):
        members = by_lane.get(lane, [])
        if not members and not updaters.get(lane):
            continue
        min_height = _gutter(picture, lane, y, updaters.get(lane, []), flagged)
        keys: dict[str, tuple] = {}
        for node in members:
            targets = [t for t in starts.get(node.id, []) if t.kind != UPDATER]
            keys[node.id] = min(key(t) for t in targets) if node.kind == REPO and targets else key(node)
        cells: dict[tuple, list[Node]] = defaultdict(list)
        for node in sorted(members, key=lambda n: n.id):
            cells[(keys[node.id], _column(node))].append(node)
        span: dict[tuple, int] = defaultdict(int)
        for (k, _), cell in cells.items():
            span[k] = max(span[k], len(cell))
        row_of, rows = {}, 0
        for k in sorted(span, key=lambda k: (k[1], k[0])):
            row_of[k] = rows
            rows += span[k]
        for (k, column), cell in cells.items():
            for offset, node in enumerate(cell):
                label = node.label if node.kind != REPO else node.label.rstrip("/").split("/")[-1]
                picture.boxes[node.id] = Box(
                    node.id, node.kind, LEFT + col_index[column] * COL_W + (COL_W - BOX_W) / 2,
                    y + PAD + (row_of[k] + offset) * ROW_H, (_short(label),), node.id,
                    flagged=node.id in flagged)
        height = max(min_height, 2 * PAD + rows * ROW_H)
        _close_lane(picture, height)
        y += height
    _links(graph, picture, lambda node_id: node_id)
    picture.width = LEFT + len(picture.columns) * COL_W + 20
    picture.height = y + 10
    return picture


def overview_picture(graph: Graph, flagged: set[str]) -> Picture:
    """Each lane's jobs of one stage in one box; edges between boxes, with their number."""
    picture = Picture()
    nodes = [n for n in graph.nodes.values() if n.kind != FOLDER]
    picture.columns = _used_columns(nodes)
    col_index = {c: i for i, c in enumerate(picture.columns)}
    updaters = _updaters_by_lane(nodes)
    y = TOP
    cell_of: dict[str, str] = {n.id: n.id for lane in updaters.values() for n in lane}
    cells: dict[tuple[str, str], list[Node]] = defaultdict(list)
    for node in nodes:
        if node.kind != UPDATER:
            cells[(node.project or "", _column(node))].append(node)
    box_h = BOX_H * 2
    for lane in _lanes(graph):
        columns = [c for c in picture.columns if (lane, c) in cells]
        if not columns and not updaters.get(lane):
            continue
        min_height = _gutter(picture, lane, y, updaters.get(lane, []), flagged)
        for column in columns:
            members = cells[(lane, column)]
            cell_id = f"cell:{lane}:{column}"
            for node in members:
                cell_of[node.id] = cell_id
            if column == REPO:
                first = f"{len(members)} repositor{'y' if len(members) == 1 else 'ies'}"
                second = ""
            elif column == MULTIBRANCH:
                first = f"{len(members)} multibranch project{'s' if len(members) != 1 else ''}"
                second = ""
            else:
                first = f"{len(members)} {COLUMN_TITLES[column]} job{'s' if len(members) != 1 else ''}"
                names = {n.service or n.variant or n.label for n in members}
                lines = {n.release for n in members if n.release}
                second = f"{len(names)} \u00d7 {len(lines)} line{'s' if len(lines) != 1 else ''}" if lines else ""
            title = "\n".join(sorted(n.id for n in members))
            picture.boxes[cell_id] = Box(
                cell_id, column, LEFT + col_index[column] * COL_W + (COL_W - BOX_W) / 2, y + PAD,
                (first, second) if second else (first,), title, h=box_h,
                flagged=any(n.id in flagged for n in members))
        height = max(min_height, 2 * PAD + box_h)
        _close_lane(picture, height)
        y += height
    _links(graph, picture, cell_of.get)
    picture.width = LEFT + len(picture.columns) * COL_W + 20
    picture.height = y + 10
    return picture


def _links(graph: Graph, picture: Picture, box_of) -> None:
    """Edges between boxes, merged when several join the same two boxes. An updater heads the lane
    of what it generates, so only its generates edges to other updaters are drawn; the others
    are counted in its tooltip."""
    merged: dict[tuple[str, str, str], Link] = {}
    generated: dict[str, int] = defaultdict(int)
    for edge in graph.edges:
        source, target = box_of(edge.source), box_of(edge.target)
        if edge.kind == GENERATES and graph.nodes[edge.target].kind != UPDATER:
            generated[edge.source] += 1
            continue
        if not source or not target or source == target:
            continue
        link = merged.get((source, target, edge.kind))
        if link is None:
            merged[(source, target, edge.kind)] = Link(source, target, edge.kind,
                                                       f"{edge.kind}: {edge.source} \u2192 {edge.target}")
        else:
            link.count += 1
            link.title = f"{edge.kind}: {link.count} edges"
    for updater, count in generated.items():
        if updater in picture.boxes:
            box = picture.boxes[updater]
            box.title = f"{box.title}\ngenerates {count} items: its lane"
    picture.links = list(merged.values())


def _path(source: Box, target: Box) -> tuple[str, float, float]:
    """A curve from source to target, and a point on it for a label."""
    x1, y1 = source.x + source.w, source.y + source.h / 2
    x2, y2 = target.x, target.y + target.h / 2
    if source.x == target.x and source.x < LEFT:
        # Updater to updater down the gutter: a bow to the left.
        x1 = x2 = source.x
        return f"M{x1:.0f},{y1:.0f} C{x1 - 18:.0f},{y1:.0f} {x2 - 18:.0f},{y2:.0f} {x2:.0f},{y2:.0f}", x1 - 14, \
            (y1 + y2) / 2
    if target.x < LEFT <= source.x:
        # Into an updater in the gutter: leave to the left, enter from the right.
        x1, x2 = source.x, target.x + target.w
        return f"M{x1:.0f},{y1:.0f} C{x1 - 30:.0f},{y1:.0f} {x2 + 30:.0f},{y2:.0f} {x2:.0f},{y2:.0f}", \
            (x1 + x2) / 2, (y1 + y2) / 2
    if abs(source.x - target.x) < 1:
        # Same column: a bow to the right.
        x2 = target.x + target.w
        return f"M{x1:.0f},{y1:.0f} C{x1 + 30:.0f},{y1:.0f} {x2 + 30:.0f},{y2:.0f} {x2:.0f},{y2:.0f}", x1 + 22, \
            (y1 + y2) / 2
    if target.x > source.x:
        bend = max(30.0, (x2 - x1) / 2)
        return f"M{x1:.0f},{y1:.0f} C{x1 + bend:.0f},{y1:.0f} {x2 - bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}", \
            (x1 + x2) / 2, (y1 + y2) / 2
    # Backwards (a cycle, or an odd team job): leave right, come back in from the left.
    return f"M{x1:.0f},{y1:.0f} C{x1 + 80:.0f},{y1 - 60:.0f} {x2 - 80:.0f},{y2 - 60:.0f} {x2:.0f},{y2:.0f}", \
        (x1 + x2) / 2, min(y1, y2) - 45


def svg(picture: Picture, view: str) -> str:
    out = [f'<svg class="graph" data-view="{escape(view)}" '
           f'viewBox="0 0 {picture.width:.0f} {picture.height:.0f}" width="{picture.width:.0f}" '
           f'height="{picture.height:.0f}" role="img" aria-label="pipeline graph: {escape(view)}">']
    out.append("<defs>")
    for kind, (colour, _) in EDGE_STYLES.items():
        out.append(f'<marker id="a-{view}-{kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
                   f'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')
    out.append("</defs>")
    for i, (label, y, height) in enumerate(picture.lanes):
        fill = "#f7f7f7" if i % 2 else "#edf2f8"
        out.append(f'<rect class="lane" x="2" y="{y:.0f}" width="{picture.width - 4:.0f}" height="{height:.0f}" '
                   f'fill="{fill}"/>')
        out.append(f'<text class="lanename" x="10" y="{y + PAD + 12:.0f}">{escape(_short(label, 24))}</text>')
    for i, column in enumerate(picture.columns):
        out.append(f'<text class="coltitle" x="{LEFT + i * COL_W + COL_W / 2:.0f}" y="22" '
                   f'text-anchor="middle">{escape(COLUMN_TITLES[column])}</text>')
    for link in picture.links:
        source, target = picture.boxes[link.source], picture.boxes[link.target]
        colour, style = EDGE_STYLES[link.kind]
        d, lx, ly = _path(source, target)
        dash = {"dashed": ' stroke-dasharray="5,3"', "dotted": ' stroke-dasharray="2,3"'}.get(style, "")
        width = 1.0 if link.count == 1 else min(4.0, 1.0 + link.count / 40)
        out.append(f'<path class="e e-{link.kind}" data-s="{escape(link.source)}" data-t="{escape(link.target)}" '
                   f'd="{d}" fill="none" stroke="{colour}" stroke-width="{width:.1f}"{dash} '
                   f'marker-end="url(#a-{view}-{link.kind})"><title>{escape(link.title)}</title></path>')
        if link.count > 1:
            out.append(f'<text class="count" x="{lx:.0f}" y="{ly - 3:.0f}" fill="{colour}">{link.count}</text>')
    for box in picture.boxes.values():
        stroke = PROBLEM_COLOUR if box.flagged else "#555555"
        stroke_width = 2.5 if box.flagged else 0.8
        rx = 9 if box.kind == REPO else 4
        out.append(f'<g class="n" data-id="{escape(box.id)}"><title>{escape(box.title)}</title>'
                   f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{box.w:.0f}" height="{box.h:.0f}" rx="{rx}" '
                   f'fill="{NODE_COLOURS.get(box.kind, "#ffffff")}" stroke="{stroke}" '
                   f'stroke-width="{stroke_width}"/>')
        step = box.h / (len(box.lines) + 1)
        for i, line in enumerate(box.lines):
            cls = "label" if i == 0 else "sub"
            out.append(f'<text class="{cls}" x="{box.x + box.w / 2:.0f}" y="{box.y + step * (i + 1) + 4:.0f}" '
                       f'text-anchor="middle">{escape(line)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def legend() -> str:
    kinds = (REPO, UPDATER, CI, MULTIBRANCH, PACKAGE, DELIVER, ENV_BUILD, ENV_VERIFY, ENV_GC, ENV_CUSTOM, OTHER)
    width = 96 * len(kinds)
    out = [f'<svg class="legend" viewBox="0 0 {width} 58" width="{width}" '
           'height="58" role="img" aria-label="legend">']
    for i, kind in enumerate(kinds):
        out.append(f'<rect x="{i * 96 + 2}" y="4" width="90" height="18" rx="4" fill="{NODE_COLOURS[kind]}" '
                   f'stroke="#555555" stroke-width="0.8"/><text class="label" x="{i * 96 + 47}" y="17" '
                   f'text-anchor="middle">{escape(kind)}</text>')
    for i, (kind, (colour, style)) in enumerate(EDGE_STYLES.items()):
        dash = {"dashed": ' stroke-dasharray="5,3"', "dotted": ' stroke-dasharray="2,3"'}.get(style, "")
        x = i * 190 + 2
        out.append(f'<path d="M{x},44 L{x + 50},44" stroke="{colour}" stroke-width="2"{dash}/>'
                   f'<text class="label" x="{x + 58}" y="48">{escape(kind)}</text>')
    x = len(EDGE_STYLES) * 190 + 2
    out.append(f'<rect x="{x}" y="36" width="40" height="16" rx="4" fill="#ffffff" stroke="{PROBLEM_COLOUR}" '
               f'stroke-width="2.5"/><text class="label" x="{x + 48}" y="48">has a problem</text>')
    out.append("</svg>")
    return "\n".join(out)


CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:12px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px}
p.summary{margin:2px 0 8px;font-size:13px}
nav button{font-size:13px;margin:0 4px 6px 0;padding:3px 10px;border:1px solid #888;background:#f4f4f4;
border-radius:4px;cursor:pointer}
nav button.active{background:#1f5fbf;color:#fff;border-color:#1f5fbf}
.view{display:none}.view.active{display:block}
svg.graph{max-width:100%;height:auto;display:block}
svg text{font-size:11px;fill:#222}
svg text.sub{font-size:10px;fill:#555}
svg text.coltitle{font-size:13px;font-weight:bold}
svg text.lanename{font-size:12px;font-weight:bold}
svg text.count{font-size:10px;font-weight:bold;paint-order:stroke;stroke:#fff;stroke-width:3px}
svg.graph.hl path.e{opacity:.08}
svg.graph.hl path.e.on{opacity:1;stroke-width:2.5}
#problems{border:2px solid #d00000;padding:6px 10px;margin:6px 0;font-size:13px}
#problems li{font-family:monospace;white-space:pre-wrap}
.notes{font-size:12px;color:#555}
"""

JS = """
(function(){
  var buttons=document.querySelectorAll('nav button');
  function show(name){
    var found=false;
    document.querySelectorAll('.view').forEach(function(v){
      var on=v.id==='view-'+name; v.classList.toggle('active',on); found=found||on;});
    if(!found){return show('overview');}
    buttons.forEach(function(b){b.classList.toggle('active',b.dataset.view===name);});
  }
  buttons.forEach(function(b){b.addEventListener('click',function(){location.hash=b.dataset.view;});});
  window.addEventListener('hashchange',function(){show(location.hash.slice(1));});
  show(location.hash.slice(1)||'overview');
  document.querySelectorAll('svg.graph g.n').forEach(function(g){
    var svg=g.ownerSVGElement, id=g.dataset.id;
    g.addEventListener('mouseenter',function(){
      svg.classList.add('hl');
      svg.querySelectorAll('path.e').forEach(function(p){
        if(p.dataset.s===id||p.dataset.t===id){p.classList.add('on');}});
    });
    g.addEventListener('mouseleave',function(){
      svg.classList.remove('hl');
      svg.querySelectorAll('path.e.on').forEach(function(p){p.classList.remove('on');});
    });
  });
})();
"""


def to_html(graph: Graph, title: str, problems: Iterable = ()) -> str:
    problems = list(problems)
    flagged = {job for p in problems for job in p.jobs}
    views = [("overview", "overview (by project)", overview_picture(graph, flagged))]
    for line in graph.release_lines:
        views.append((line, f"release line {line}", detail_picture(graph.for_release(line), flagged)))
    if len(graph.release_lines) != 1:
        views.append(("all", "all jobs", detail_picture(graph, flagged)))
    nodes, edges = graph.count_nodes(), graph.count_edges()
    jobs = sum(count for kind, count in nodes.items() if kind not in (REPO, FOLDER, MULTIBRANCH))
    branches = nodes.get(MULTIBRANCH, 0)
    summary = (f"{jobs} jobs, " + (f"{branches} multibranch project{'s' if branches != 1 else ''}, " if branches
                                   else "")
               + f"{nodes.get(FOLDER, 0)} folders (not drawn), {nodes.get(REPO, 0)} repositories; "
               "edges: " + ", ".join(f"{edges.get(k, 0)} {k}" for k in EDGE_STYLES)
               + ". Each lane is headed by the updater that generates its jobs. Hover over a job to see its edges.")
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{escape(title)}</title>", f"<style>{CSS}</style></head><body>",
             f"<h1>{escape(title)}</h1>", f'<p class="summary">{escape(summary)}</p>']
    if problems:
        items = "".join(f"<li>{escape(str(p))}</li>" for p in problems)
        parts.append(f'<section id="problems"><strong>{len(problems)} problem'
                     f'{"s" if len(problems) != 1 else ""}</strong><ul>{items}</ul></section>')
    for note in graph.notes:
        parts.append(f'<p class="notes">note: {escape(note)}</p>')
    parts.append("<nav>" + "".join(
        f'<button type="button" data-view="{escape(name)}"{" class=active" if i == 0 else ""}>{escape(label)}'
        "</button>" for i, (name, label, _) in enumerate(views)) + "</nav>")
    parts.append(legend())
    for i, (name, _, picture) in enumerate(views):
        active = " active" if i == 0 else ""
        parts.append(f'<div class="view{active}" id="view-{escape(name)}">{svg(picture, name)}</div>')
    parts.append(f"<script>{JS}</script></body></html>")
    return "\n".join(parts) + "\n"
