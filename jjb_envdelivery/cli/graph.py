"""``jjb-envdelivery graph``: check the organisation's job graph and draw it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import EnvDeliveryError
from ..graph import check, check_warnings
from ..graph.dot import dot_to_svg, to_dot
from ..graph.html import to_html
from ..model.loader import ORG_FILE_NAME
from ..orchestration.checked_render import graph_of_organisation

FORMATS = ("dot", "svg", "html", "json")
WARNINGS_SHOWN = 10  # the rest are in the JSON: a large organisation can have hundreds


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "graph",
        help="check the job graph (triggers, copied artifacts, updaters) and draw it",
        description="Render every scope of the organisation, build the graph of its jobs from the XML "
        "(scm, trigger, artifact and generates edges) and check it: dangling job names (pipeline views' "
        "firstJob too), "
        "trigger/artifact cycles, names generated twice, CD jobs nothing can start, environment variants "
        "whose services have no package job on a release line, artifact copies the source job's "
        "CopyArtifactPermissionProperty does not permit. Writes the picture even when checks fail (problem "
        "jobs are outlined in red), then exits 1 listing the problems. Warnings (names found only through "
        "Jenkins's fallback to the full name, copy grants matching no job, view entries that only make a "
        "view show less) are listed and do not fail. "
        "html needs no Graphviz; svg runs `dot`.",
    )
    parser.add_argument("org", type=Path, help="org directory or org file")
    parser.add_argument("--format", choices=FORMATS, default="html", help="output format (default html)")
    parser.add_argument("-o", "--output", type=Path, help="output file (default: standard output)")
    parser.add_argument("--release", metavar="LINE", help="draw only this release line's jobs (and updaters)")
    parser.add_argument("--check-only", action="store_true", help="check, write nothing")
    parser.add_argument("--conf", type=Path, help="JJB ini file (default: JJB's built-in defaults)")
    parser.set_defaults(run=run)


def run(args) -> int:
    org = Path(args.org)
    if not (org.is_dir() and (org / ORG_FILE_NAME).is_file()) and not org.is_file():
        raise EnvDeliveryError(f"{org}: no organisation here (expected a directory holding {ORG_FILE_NAME}, "
                               "or the org file)")
    graph = graph_of_organisation(org, conf=args.conf)
    problems, warnings = check(graph), check_warnings(graph)
    if not args.check_only:
        shown = graph.for_release(args.release) if args.release else graph
        _write(_picture(shown, args.format, problems, warnings), args.output)
    for note in graph.notes:
        print(f"note: {note}", file=sys.stderr)
    if warnings:
        heading = "1 warning" if len(warnings) == 1 else f"{len(warnings)} warnings"
        print(f"jjb-envdelivery: {heading} (they do not fail):", file=sys.stderr)
        for warning in warnings[:WARNINGS_SHOWN]:
            print(f"  {warning}", file=sys.stderr)
        if len(warnings) > WARNINGS_SHOWN:
            print(f"  ... and {len(warnings) - WARNINGS_SHOWN} more (`graph --format json` lists every one)",
                  file=sys.stderr)
    if problems:
        heading = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
        print(f"jjb-envdelivery: error: the job graph has {heading}:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    nodes, edges = graph.count_nodes(), graph.count_edges()
    summary = (f"graph checked: {sum(nodes.values())} nodes (" + ", ".join(f"{v} {k}" for k, v in sorted(nodes.items()))
               + f"), {sum(edges.values())} edges (" + ", ".join(f"{v} {k}" for k, v in sorted(edges.items()))
               + "): no problems")
    # Keep stdout for the picture when it goes there.
    print(summary, file=sys.stderr if args.output is None and not args.check_only else sys.stdout)
    return 0


def _picture(graph, fmt: str, problems, warnings) -> str:
    flagged = {job for p in problems for job in p.jobs}
    if fmt == "dot":
        return to_dot(graph, flagged)
    if fmt == "svg":
        return dot_to_svg(to_dot(graph, flagged))
    if fmt == "json":
        data = graph.to_json()
        data["problems"] = [{"check": p.check, "level": p.level, "jobs": list(p.jobs), "field": p.field,
                             "message": p.message} for p in problems + warnings]
        return json.dumps(data, indent=2) + "\n"
    return to_html(graph, f"Pipeline graph of {graph.name}", problems)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
