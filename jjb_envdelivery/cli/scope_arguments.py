"""The arguments that name a scope, shared by ``update`` and ``plan``."""

from __future__ import annotations

from pathlib import Path

from ..orchestration.checked_render import ScopeRequest


def add_scope_arguments(parser) -> None:
    parser.add_argument("--scope", required=True, help="'root' or a project name")
    parser.add_argument("--conf", type=Path, required=True, help="JJB ini with the server URL and credentials")
    parser.add_argument("--org-file", type=Path,
                        help="the org file (root scope; for a project scope, takes its settings from it)")
    parser.add_argument("--namespace", help="project scope: folder:NAME or prefix:NAME- (baked in by the root)")
    parser.add_argument("--release", action="append", default=[], metavar="NAME=BRANCH",
                        help="project scope: a release line (repeatable)")
    parser.add_argument("--root-folder", help="project scope: the root scope's folder")
    parser.add_argument("--build-timeout", type=int, metavar="MINUTES",
                        help="project scope: the teams' job timeout, at least 3 (default 60; baked in by the root)")
    parser.add_argument("jobs_path", nargs="?", type=Path, help="project scope: the team's job YAML directory")
    parser.add_argument("--adopt", action="store_true", help="take over existing items no updater owns")
    parser.add_argument("--allow-empty", action="store_true",
                        help="let a scope that generates nothing delete all its items")
    parser.add_argument("--cache-dir", type=Path, help="where scope caches live (default ~/.cache/jjb-envdelivery)")


def scope_request(args) -> ScopeRequest:
    return ScopeRequest(args.scope, org_file=args.org_file, namespace=args.namespace, releases=tuple(args.release),
                        root_folder=args.root_folder, jobs_path=args.jobs_path, build_timeout=args.build_timeout)
