"""``jjb-envdelivery plan``: what `update` would do, without writing anything."""

from __future__ import annotations

import json

from ..orchestration.plan import plan_request
from ..push.plan import CHANGE, KEEP, UNCHANGED
from .scope_arguments import add_scope_arguments, scope_request


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "plan",
        help="show what `update` would create, change (with a diff), delete or refuse",
        description="Like `terraform plan -detailed-exitcode`: exit 0 when nothing would change, 2 when "
        "something would, 1 on error or when the update would refuse. Compares with the live server's listing "
        "and this scope's record of what it pushed; with --refresh, with every item's live config.xml (drift "
        "shows as a change). Where the server cannot be reached, or with --offline, with the configuration "
        "this scope last applied, and says so on the first line. Credentials the server refuses end it (exit "
        "1). Writes nothing.",
    )
    add_scope_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument("--refresh", action="store_true",
                        help="read every item's live config.xml (one GET each, in parallel) and show drift")
    parser.add_argument("--offline", action="store_true",
                        help="do not contact the server: compare with the configuration this scope last applied")
    parser.set_defaults(run=run)


def run(args) -> int:
    result = plan_request(scope_request(args), args.conf, adopt=args.adopt, allow_empty=args.allow_empty,
                          cache_root=args.cache_dir, refresh=args.refresh, offline=args.offline)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
        return result.exit_code
    plan = result.plan
    if result.offline_reason:
        print(f"OFFLINE: {result.offline_reason}; comparing with the configuration this scope last applied, "
              "which cannot show changes made on the server")
    refreshed = ", refreshed (every item's live config.xml)" if result.refreshed else ""
    print(f"scope {plan.scope}, compared with the {result.source} configuration{refreshed}:")
    for action in plan.actions:
        if action.kind == UNCHANGED:
            continue
        reason = f": {action.reason}" if action.reason else ""
        renamed = f" (from {action.renamed_from})" if action.renamed_from else ""
        print(f"  {action.kind:<7} {action.item_kind} {action.name}{renamed}{reason}")
        if action.kind == CHANGE:
            diff = result.diffs.get(action.name)
            if action.name in result.unreadable:
                print(f"      (no diff: {result.unreadable[action.name]})")
            else:
                print("\n".join(f"      {line}" for line in diff.splitlines()) if diff else
                      "      (same meaning; pushed again because this scope has no record of pushing it)")
    print("  " + ", ".join(f"{n} to {k}" if k not in (UNCHANGED, KEEP) else f"{n} {k}"
                           for k, n in result.counts().items()))
    return result.exit_code
