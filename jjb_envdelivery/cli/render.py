"""``jjb-envdelivery render``: the organisation (or plain JJB paths) as Jenkins config XML."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from ..errors import EnvDeliveryError
from ..jjb import parallel, pipeline
from ..model.loader import ORG_FILE_NAME
from ..orchestration.checked_render import render_organisation
from ..render import render_paths, replacing_output, write_output


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "render",
        help="write the config.xml of every job and view",
        description="Render an organisation (a directory holding delivery.yaml, or the org file "
        "itself) or plain JJB paths (colon-separated, as for `jenkins-jobs test`) to OUT, in the "
        "layout of `jenkins-jobs test --config-xml`: OUT/<job or view>/config.xml. OUT is replaced "
        "as a whole once everything has rendered; nothing is written on any error.",
    )
    parser.add_argument("path", help="org directory, org file, or JJB path(s) separated by ':'")
    parser.add_argument("-o", "--output", required=True, type=Path, help="output directory")
    parser.add_argument("--conf", type=Path, help="JJB ini file (default: JJB's built-in defaults)")
    parser.add_argument("--emit-yaml", type=Path, metavar="DIR",
                        help="also keep the generated JJB YAML (root scope and project contexts) in DIR")
    parser.add_argument("-r", "--recursive", action="store_true", help="plain JJB paths: descend into directories")
    parser.add_argument("-p", "--plugins-info", type=Path, metavar="FILE",
                        help="plugin versions (a YAML list, as `jenkins-jobs get-plugins-info` writes)")
    parser.add_argument("--no-fast", action="store_true",
                        help="render through JJB's own classes only (same output, slower; "
                        f"also ${pipeline.FAST_SWITCH_ENV}=0)")
    parser.add_argument("--processes", type=int, metavar="N",
                        help="render in up to N processes (default: the CPUs available, or "
                        f"${parallel.PROCESSES_ENV}); 1 renders in this process only")
    parser.set_defaults(run=run)


def is_org(path: Path) -> bool:
    return (path.is_dir() and (path / ORG_FILE_NAME).is_file()) or (path.is_file() and path.name == ORG_FILE_NAME)


def read_plugins_info(path: Path | None) -> list | None:
    if path is None:
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise EnvDeliveryError(f"--plugins-info {path}: {exc}") from None
    if not isinstance(data, list):
        raise EnvDeliveryError(f"--plugins-info {path}: expected a YAML list of plugins")
    return data


def run(args) -> int:
    parallel.set_default_processes(args.processes)
    if args.no_fast:
        pipeline.set_fast_path(False)
    try:
        return _render(args)
    finally:
        parallel.set_default_processes(None)
        if args.no_fast:
            pipeline.set_fast_path(None)


def _render(args) -> int:
    target = Path(args.path)
    plugins_info = read_plugins_info(args.plugins_info)
    if is_org(target):
        result = render_organisation(target, conf=args.conf, workdir=args.emit_yaml, plugins_info=plugins_info)
        items = [item for scope in result.scopes for item in scope.rendered.jobs + scope.rendered.views]
        count = write_output(items, args.output)
        for note in result.skipped:
            print(f"note: {note}")
        print(f"rendered {result.job_count} jobs and {result.view_count} views in "
              f"{len(result.scopes)} scopes: {count} files in {args.output}")
    else:
        paths = [Path(p) for p in args.path.split(os.pathsep)]
        with replacing_output(args.output) as staging:
            rendered = render_paths(paths, conf=args.conf, recursive=args.recursive, plugins_info=plugins_info,
                                    write_to=staging)
        count = len(rendered.jobs) + len(rendered.views)
        print(f"rendered {len(rendered.jobs)} jobs and {len(rendered.views)} views: {count} files in {args.output}")
    return 0
