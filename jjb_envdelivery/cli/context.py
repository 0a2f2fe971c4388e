"""``jjb-envdelivery context`` and ``templates-dir``: what plain `jenkins-jobs` needs to render a
team's YAML by hand, exactly as that team's child updater does."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import generator
from ..data_dirs import shipped_templates_dir
from ..errors import EnvDeliveryError
from ..model.loader import load_organisation


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "context",
        help="print a project's context defaults (the YAML its child updater generates)",
        description="Print the JJB `defaults: envdelivery` entry that the shipped job-templates read in "
        "PROJECT's scope. With it, plain JJB renders the team's YAML as the updater does:\n"
        "  jenkins-jobs test -r --config-xml -o out "
        "ctx.yaml:$(jjb-envdelivery templates-dir):jenkins/",
    )
    parser.add_argument("org", type=Path, help="org directory or org file")
    parser.add_argument("--project", required=True, help="project name")
    parser.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")
    parser.set_defaults(run=run_context)

    templates = commands.add_parser("templates-dir", help="print where the shipped job-templates are installed")
    templates.set_defaults(run=run_templates_dir)


def run_context(args) -> int:
    org = load_organisation(args.org)
    try:
        project = org.project(args.project)
    except KeyError as exc:
        raise EnvDeliveryError(exc.args[0]) from None
    text = generator.to_yaml(generator.project_context(org, project), f"Context of project {project.name}")
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def run_templates_dir(args) -> int:
    print(shipped_templates_dir())
    return 0
