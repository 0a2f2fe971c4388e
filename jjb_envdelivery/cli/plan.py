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
        "something would, 1 on error or when the update would refuse. Compares with the live server; where "
        "it cannot be reached, with the configuration this scope last applied. Writes nothing.",
    )
    add_scope_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.set_defaults(run=run)


def run(args) -> int:
    result = plan_request(scope_request(args), args.conf, adopt=args.adopt, allow_empty=args.allow_empty,
                          cache_root=args.cache_dir)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
        return result.exit_code
    plan = result.plan
    print(f"scope {plan.scope}, compared with the {result.source} configuration:")
    for action in plan.actions:
        if action.kind == UNCHANGED:
            continue
        reason = f": {action.reason}" if action.reason else ""
        print(f"  {action.kind:<7} {action.item_kind} {action.name}{reason}")
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
