"""What the job policy costs: rendering a synthetic organisation with the policy judging every
team scope's jobs, against the same render with the judging left out, in one process (the
policy has no switch: this script replaces ``policy.enforce`` for the second of each pair).

    python benchmarks/bench_policy.py --size 4000 --repeat 5

Prints each pair's wall time and the median of the per-pair ratios (with / without).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth_org

from jjb_envdelivery import policy, render
from jjb_envdelivery.model.loader import load_organisation


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=4000, help="organisation size in jobs")
    parser.add_argument("--services", type=int, default=synth_org.SERVICES_PER_PROJECT,
                        help="services per project (smoke tests use fewer)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", type=Path, help="keep the organisation here (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-policy-") as tmp:
        work = args.workdir or Path(tmp)
        org = load_organisation(synth_org.write_org(work / "org", args.size, args.services))
        enforce, ratios = policy.enforce, []
        for pair in range(args.repeat):
            times = {}
            order = ("with", "without") if pair % 2 == 0 else ("without", "with")
            for label in order:
                policy.enforce = enforce if label == "with" else (lambda *_args, **_kwargs: [])
                start = time.perf_counter()
                result = render.render_scopes(org)
                times[label] = time.perf_counter() - start
            policy.enforce = enforce
            ratios.append(times["with"] / times["without"])
            print(f"pair {pair + 1}: with policy {times['with']:.2f} s, without {times['without']:.2f} s "
                  f"({result.job_count} jobs)")
        print(f"median ratio with / without the policy: {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
