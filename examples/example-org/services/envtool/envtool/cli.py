"""envtool's command line.

    envtool provision --config FILE --artifacts DIR --target DIR
        write the environment FILE describes into DIR (see envtool.environment) and write
        {service: version} to the configuration's report-file
    envtool check [--smoke] [--integration] [--ha]
        validate the environment named by ENVDELIVERY_ENV (the smoke check always runs first)
    envtool --version

Exit status: 0 done, 1 a check failed, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import __version__, checks
from .environment import ConfigurationError, load_config, provision

CHECK_FAILED = 1
BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="envtool", description="Provision and check environments.")
    parser.add_argument("--version", action="version", version=f"envtool {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("provision", help="write the environment a configuration describes")
    p.add_argument("--config", type=Path, required=True, help="the environment configuration (JSON)")
    p.add_argument("--artifacts", type=Path, required=True, help="the directory envtool was delivered in")
    p.add_argument("--target", type=Path, required=True, help="the environment's directory (empty)")
    p = commands.add_parser("check", help="validate the environment named by ENVDELIVERY_ENV")
    p.add_argument("--smoke", action="store_true", help="every host and service is there (always run first)")
    p.add_argument("--integration", action="store_true", help="files as provisioned, one address per host")
    p.add_argument("--ha", action="store_true", help="no two services share a host")
    return parser


def _provision(args) -> int:
    if not args.artifacts.is_dir():
        raise ConfigurationError(f"--artifacts {args.artifacts} is not a directory")
    config = load_config(args.config)
    versions = provision(config, args.target)
    if config.get("report-file"):
        Path(config["report-file"]).write_text(json.dumps(versions), encoding="utf-8")
    print(f"envtool {__version__}: provisioned {len(config['hosts'])} hosts into {args.target}")
    return 0


def _check(args) -> int:
    where = os.environ.get("ENVDELIVERY_ENV")
    if not where:
        raise ConfigurationError("ENVDELIVERY_ENV is not set: check validates the environment it names")
    root = Path(where)
    environment = checks.read_environment(root)
    wanted = ["smoke"] + [name for name in checks.CHECKS if name != "smoke" and getattr(args, name)]
    failed = False
    for name in wanted:
        problems = checks.CHECKS[name](root, environment)
        for problem in problems:
            print(f"envtool {__version__}: check --{name}: {problem}", file=sys.stderr)
        failed = failed or bool(problems)
        if not problems:
            print(f"envtool {__version__}: check --{name} ok ({len(environment['hosts'])} hosts)")
    return CHECK_FAILED if failed else 0


def run(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _provision(args) if args.command == "provision" else _check(args)
    except (ConfigurationError, FileNotFoundError) as exc:
        print(f"envtool: {exc}", file=sys.stderr)
        return BAD_INPUT


def main() -> None:
    sys.exit(run())
