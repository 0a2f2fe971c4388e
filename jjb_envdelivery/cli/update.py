"""``jjb-envdelivery update`` and ``bootstrap``: push one scope, or seed a fresh server."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from ..errors import EnvDeliveryError
from ..model.loader import load_organisation
from ..push import scoped
from ..push.update import summary_table
from ..scopes import ROOT, Scope, local_jobs_dir, project_scope, project_scope_from_args, root_scope


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
    update.set_defaults(run=run_update)

    boot = commands.add_parser(
        "bootstrap",
        help="seed a fresh server with the root folder and the root updater",
        description="Checks that the server has the plugins the generated jobs need (stops if not, "
        "unless --ignore-plugins), then creates the root folder and the root updater job. Idempotent.",
    )
    boot.add_argument("org", type=Path, help="org directory or org file")
    boot.add_argument("--conf", type=Path, required=True, help="JJB ini with the server URL and credentials")
    boot.add_argument("--ignore-plugins", action="store_true", help="go on even when plugins are missing")
    boot.add_argument("--cache-dir", type=Path, help="where scope caches live (default ~/.cache/jjb-envdelivery)")
    boot.set_defaults(run=run_bootstrap)


def add_scope_arguments(parser) -> None:
    parser.add_argument("--scope", required=True, help="'root' or a project name")
    parser.add_argument("--conf", type=Path, required=True, help="JJB ini with the server URL and credentials")
    parser.add_argument("--org-file", type=Path,
                        help="the org file (root scope; for a project scope, takes its settings from it)")
    parser.add_argument("--namespace", help="project scope: folder:NAME or prefix:NAME- (baked in by the root)")
    parser.add_argument("--release", action="append", default=[], metavar="NAME=BRANCH",
                        help="project scope: a release line (repeatable)")
    parser.add_argument("--root-folder", help="project scope: the root scope's folder")
    parser.add_argument("jobs_path", nargs="?", type=Path, help="project scope: the team's job YAML directory")
    parser.add_argument("--adopt", action="store_true", help="take over existing items no updater owns")
    parser.add_argument("--allow-empty", action="store_true",
                        help="let a scope that generates nothing delete all its items")
    parser.add_argument("--cache-dir", type=Path, help="where scope caches live (default ~/.cache/jjb-envdelivery)")


def render_checked(args, scope: Scope, workdir: Path):
    """The scope's XML with owner marks, after the job graph passed its checks.

    The root scope is checked with every scope whose YAML it can see; a project scope given
    with the org file, with the root scope (so a team's update does not pay for rendering every
    other team); a child updater (given --namespace, as the root bakes it) has no org file and
    skips the check. The pushed rendering is the checked one: each scope is rendered once.
    """
    from ..graph import check_scopes
    from ..jjb import pipeline
    from ..render import project_scopes, render_scope, render_scope_list

    config = pipeline.make_jjb_config(args.conf)
    owned = frozenset({scope.name})
    if scope.is_root:
        org = load_organisation(args.org_file or Path("delivery.yaml"))
        results = render_scope_list([scope, *project_scopes(org, workdir)], config, owned)
    elif not args.namespace and args.org_file:
        org = load_organisation(args.org_file)
        results = render_scope_list([root_scope(org, workdir), scope], config, owned)
    else:
        return render_scope(scope, config, owner=scope.name)
    check_scopes(results, org)
    return next(result.rendered for result in results if result.scope is scope)


def build_scope(args, workdir: Path) -> Scope:
    if args.scope == ROOT:
        if args.namespace or args.release or args.jobs_path:
            raise EnvDeliveryError("the root scope takes --org-file only, not --namespace/--release/JOBS_PATH")
        return root_scope(load_organisation(args.org_file or Path("delivery.yaml")), workdir)
    if args.namespace:
        if args.jobs_path is None or args.root_folder is None:
            raise EnvDeliveryError("a project scope given by --namespace also needs --release, --root-folder "
                                   "and JOBS_PATH")
        return project_scope_from_args(args.scope, args.namespace, args.release, args.root_folder,
                                              args.jobs_path, workdir)
    if args.org_file is None:
        raise EnvDeliveryError(f"scope {args.scope}: give either --namespace/--release/--root-folder/JOBS_PATH "
                               "(as a child updater does) or --org-file")
    org = load_organisation(args.org_file)
    try:
        project = org.project(args.scope)
    except KeyError as exc:
        raise EnvDeliveryError(exc.args[0]) from None
    jobs_dir = args.jobs_path or local_jobs_dir(project)
    if jobs_dir is None:
        raise EnvDeliveryError(f"project {project.name} has no local-checkout in the org file: give JOBS_PATH")
    return project_scope(org, project, workdir, jobs_dir)


def run_update(args) -> int:
    with tempfile.TemporaryDirectory(prefix="jjb-envdelivery-") as tmp:
        scope = build_scope(args, Path(tmp))
        rendered = render_checked(args, scope, Path(tmp))
        report = scoped.update_scope(scope, args.conf, workers=args.workers, adopt=args.adopt,
                                     allow_empty=args.allow_empty, cache_root=args.cache_dir,
                                     progress_stream=None if args.json else sys.stderr, rendered=rendered)
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
    org = load_organisation(args.org)
    with tempfile.TemporaryDirectory(prefix="jjb-envdelivery-") as tmp:
        report = scoped.bootstrap(org, args.conf, Path(tmp), ignore_plugins=args.ignore_plugins,
                                  cache_root=args.cache_dir)
    print(summary_table([report]))
    return 0 if report.ok else 1
