"""shopctl's command line.

    shopctl provision --config FILE --target ENV_ID
        seed the environment ENV_ID (stock levels, the storefront's banner) and write
        {service: version} to the configuration's report-file
    shopctl --version

Exit status: 0 done, 1 a service could not be seeded or asked, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from . import __version__
from .seed import ProvisioningError, fetch_version, seed_commands, services

FAILED = 1
BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopctl", description="Provision the shop's environments.")
    parser.add_argument("--version", action="version", version=f"shopctl {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("provision", help="seed a running environment and report its versions")
    p.add_argument("--config", type=Path, required=True, help="the environment configuration (JSON)")
    p.add_argument("--target", required=True, help="the environment id (its containers are ENV_ID-SERVICE)")
    return parser


def _provision(args) -> int:
    try:
        config = json.loads(args.config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"shopctl: cannot read --config {args.config}: {exc}", file=sys.stderr)
        return BAD_INPUT
    engine = os.environ.get("ENVDELIVERY_ENGINE", "podman")
    for command in seed_commands(engine, args.target, config):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise ProvisioningError(f"{' '.join(command[:4])} failed: {done.stderr.strip()[-300:]}")
        print(f"shopctl: {done.stdout.strip()}")
    access = config.get("access", {})
    versions = {service: fetch_version(service, access[service])
                for service in services(config) if isinstance(access.get(service), str)}
    if config.get("report-file"):
        Path(config["report-file"]).write_text(json.dumps(versions), encoding="utf-8")
    print(f"shopctl {__version__}: provisioned {args.target}: "
          + ", ".join(f"{service} {version}" for service, version in versions.items()))
    return 0


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        sys.exit(_provision(args))
    except ProvisioningError as exc:
        print(f"shopctl: {exc}", file=sys.stderr)
        sys.exit(FAILED)
