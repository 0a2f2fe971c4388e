"""``jjb-envdelivery drift-check``: every scope's live items compared with git (what the
drift-check job runs nightly)."""

from __future__ import annotations

import json
from pathlib import Path

from ..orchestration.drift import drift_check


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "drift-check",
        help="compare every scope's live items with what git generates (plan --refresh per scope)",
        description="Plans the root scope and every project scope of the org file with --refresh: one "
        "listing plus one config.xml GET per item. Exit 0 when the server matches git, 1 when anything "
        "differs (listed per scope, with diffs) or a scope could not be compared. Writes nothing; the "
        "scope's `update --refresh` repairs drift.",
    )
    parser.add_argument("--org-file", type=Path, default=Path("delivery.yaml"), help="the org file")
    parser.add_argument("--conf", type=Path, required=True, help="JJB ini with the server URL and credentials")
    parser.add_argument("--cache-dir", type=Path, help="where scope caches live (default ~/.cache/jjb-envdelivery)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(run=run)


def run(args) -> int:
    reports = drift_check(args.org_file, args.conf, cache_root=args.cache_dir)
    if args.json:
        print(json.dumps([{"scope": r.scope, "compared": r.compared, "clean": r.clean, "error": r.error,
                           "differences": r.differences} for r in reports], indent=2))
    else:
        for report in reports:
            if report.error:
                print(f"{report.scope}: NOT COMPARED: {report.error}")
            elif report.clean:
                print(f"{report.scope}: matches git ({report.compared} items compared)")
            else:
                print(f"{report.scope}: {len(report.differences)} item(s) differ from git")
                for entry in report.differences:
                    print(f"  {entry['action']:<7} {entry['kind']} {entry['name']}: {entry['reason']}")
                    if entry.get("diff"):
                        print("\n".join(f"      {line}" for line in entry["diff"].splitlines()))
        dirty = [r.scope for r in reports if not r.clean]
        print(f"drift: {len(dirty)} of {len(reports)} scope(s) differ or could not be compared"
              + (f": {', '.join(dirty)}" if dirty else ""))
    return 0 if all(r.clean for r in reports) else 1
