"""`jjb-envdelivery render PATHS -o OUT` for plain JJB paths, plus JJB's `-p plugins_info.yaml`.

The render command has no `--plugins-info` option (yet); corpora written for older plugin
versions need one. Same code path otherwise: pipeline.make_jjb_config -> render.render_paths'
steps -> render.write_output (the `--config-xml` layout).

    python benchmarks/render_plain.py [--conf INI] [-p PLUGINS_INFO] [-r] -o OUT PATH[:PATH...]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths")
    parser.add_argument("-o", "--output", required=True, type=Path)
    parser.add_argument("--conf", type=Path)
    parser.add_argument("-p", "--plugins-info", type=Path)
    parser.add_argument("-r", "--recursive", action="store_true")
    args = parser.parse_args(argv)

    from jenkins_jobs.errors import JenkinsJobsException

    from jjb_envdelivery.jjb import pipeline
    from jjb_envdelivery.render import write_output

    plugins = yaml.safe_load(args.plugins_info.read_text()) if args.plugins_info else None
    config = pipeline.make_jjb_config(args.conf, plugins_info=plugins)
    paths = [Path(p) for p in args.paths.split(os.pathsep)]
    expanded = pipeline.expand_paths(paths, args.recursive or config.recursive, (".*",))
    try:
        rendered = pipeline.generate_xml(config, expanded)
    except JenkinsJobsException as exc:
        print(pipeline.describe_error(exc), file=sys.stderr)
        return 1
    count = write_output(rendered.jobs + rendered.views, args.output)
    print(f"rendered {len(rendered.jobs)} jobs and {len(rendered.views)} views: {count} files in {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
