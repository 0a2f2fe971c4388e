"""Incremental: after a change to one team's YAML, that team's update vs the full update.

A synthetic organisation (synth_org.py, 4,000 jobs by default) is pushed once in full to a Jenkins
REST emulator with per-request latency (untimed; caches warm). Then, alternating, the same one-team
change (a new `validate` command for team000's first project, i.e. its CI jobs) is followed by
either the full update, `jjb-envdelivery update` of the root scope and then of every project scope
(what the root and child updater jobs do in all), or only team000's child update. Each change is a
new generation, so every measured run has the same few jobs to push.

    python benchmarks/bench_incremental.py --size 4000 --latency 0.02 --repeat 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_push
import common
import synth_org


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=4000, help="organisation size in jobs")
    parser.add_argument("--services", type=int, default=synth_org.SERVICES_PER_PROJECT,
                        help="services per project (smoke tests use fewer)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every request")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="keep everything here (default: a temp dir, removed)")
    args = parser.parse_args(argv)
    print(common.header(sys.argv))
    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        org = synth_org.write_org(work / "org", args.size, args.services)
        from jjb_envdelivery.model.loader import load_organisation

        scopes = ["root"] + [p.name for p in load_organisation(org).projects]
        team = synth_org.project_name(0)
        cache = work / "cache"
        with bench_push.new_emulator(args.latency) as emu:
            conf = bench_push.write_conf(emu.url, work / "jenkins.ini")
            first = bench_push.scoped_push(org, scopes, conf, cache, args.workers)
            items = len(emu.jobs()) + len(emu.views())
            print(f"initial full push (untimed): {items} items, {len(scopes)} scopes, "
                  f"{common.describe(first)}", flush=True)
            generation = [0]

            def after_change(push):
                def run(i: int) -> common.Measure:
                    generation[0] += 1
                    synth_org.touch_team(org, 0, generation[0])
                    before = len(emu.request_log)
                    m = push()
                    m.extra["requests"] = len(emu.request_log) - before
                    return m
                return run

            full = after_change(lambda: bench_push.scoped_push(org, scopes, conf, cache, args.workers))
            child = after_change(lambda: bench_push.scoped_push(org, [team], conf, cache, args.workers))
            results = common.alternate("full update", full, f"{team} update", child, args.repeat)
        f, c = results["full update"], results[f"{team} update"]
        print(common.summary(f"one-team change in {items} items: full update (root + {len(scopes) - 1} children) "
                             f"vs {team}'s child update", "full update", f, f"{team} update", c))
        print(f"  child / full: {1 / common.median_ratio(f, c):.3f} of the full update's wall time "
              f"(median of pairs); requests: full {f[0].extra['requests']}, child {c[0].extra['requests']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
