"""``jjb-envdelivery plan``: what `update` would do, without writing anything."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from ..push import scoped
from ..push.plan import CHANGE, UNCHANGED
from .update import add_scope_arguments, build_scope, render_checked


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
    with tempfile.TemporaryDirectory(prefix="jjb-envdelivery-") as tmp:
        scope = build_scope(args, Path(tmp))
        rendered = render_checked(args, scope, Path(tmp))
        result = scoped.plan_only(scope, args.conf, adopt=args.adopt, allow_empty=args.allow_empty,
                                  cache_root=args.cache_dir, rendered=rendered)
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
            print("\n".join(f"      {line}" for line in diff.splitlines()) if diff else
                  "      (same meaning; pushed again because this scope has no record of pushing it)")
    counts = {kind: len(plan.of(kind)) for kind in ("create", "change", "delete", "unchanged", "keep", "refuse")}
    print("  " + ", ".join(f"{n} to {k}" if k not in ("unchanged", "keep") else f"{n} {k}"
                           for k, n in counts.items()))
    return result.exit_code
