"""``jjb-envdelivery update`` and ``bootstrap``: push one scope, or seed a fresh server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..orchestration.bootstrap import bootstrap_organisation
from ..orchestration.update import update_request
from ..push.apply import summary_table
from .scope_arguments import add_scope_arguments, scope_request


def add_parser(commands) -> None:
    update = commands.add_parser(
        "update",
        help="push one scope (the root, or one project) to Jenkins",
        description="The scoped update that the root and child updater jobs run. It renders the scope, "
        "refuses anything outside the scope's namespace or owned by another scope before any write, "
        "then creates folders, pushes changed jobs and views, and deletes only stale items that carry "
        "this scope's owner mark. Exits 1 with a summary when anything failed; a rerun converges.",
    )
    add_scope_arguments(update)
    update.add_argument("--workers", type=int, default=4, help="parallel uploads (default 4)")
    update.add_argument("--json", action="store_true", help="print the report as JSON")
    update.add_argument("--refresh", action="store_true",
                        help="read every item's live config.xml first and push again what drifted on the server")
    update.set_defaults(run=run_update)

    boot = commands.add_parser(
        "bootstrap",
        help="seed a fresh server with the root folder and the root updater",
        description="Checks that the server has the plugins the generated jobs need (stops if not, "
        "unless --ignore-plugins), creates the root folder, checks that the updater's credential "
        "(updater.credential-id) is in the root folder's credential store and in neither the system store "
        "nor a team folder's (stops if not, unless --skip-credential-check), then creates the root updater "
        "job. Idempotent.",
    )
    boot.add_argument("org", type=Path, help="org directory or org file")
    boot.add_argument("--conf", type=Path, required=True, help="JJB ini with the server URL and credentials")
    boot.add_argument("--ignore-plugins", action="store_true", help="go on even when plugins are missing")
    boot.add_argument("--skip-credential-check", action="store_true",
                      help="do not check where the updater's credential is stored (needs Credentials/View)")
    boot.add_argument("--cache-dir", type=Path, help="where scope caches live (default ~/.cache/jjb-envdelivery)")
    boot.set_defaults(run=run_bootstrap)


def run_update(args) -> int:
    report = update_request(scope_request(args), args.conf, workers=args.workers, adopt=args.adopt,
                            allow_empty=args.allow_empty, cache_root=args.cache_dir,
                            progress_stream=None if args.json else sys.stderr, refresh=args.refresh)
    print_report(report, args.json)
    return 0 if report.ok else 1


def print_report(report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        if report.plan.refused:
            print(f"scope {report.scope}: refused before any write; nothing was written", file=sys.stderr)
        print(summary_table([report]))


def run_bootstrap(args) -> int:
    report = bootstrap_organisation(args.org, args.conf, ignore_plugins=args.ignore_plugins,
                                    cache_root=args.cache_dir,
                                    check_credential=not args.skip_credential_check)
    print(summary_table([report]))
    return 0 if report.ok else 1
