"""Render: this checkout's `jjb-envdelivery render` against another installation's, same inputs,
same bytes: whether a change made rendering slower (a refactor's "no slowdown" check).

The other installation is any `jjb-envdelivery` executable, e.g. one installed from the previous
commit in its own virtual environment:

    git worktree add /tmp/old HEAD~1 && python3 -m venv /tmp/old/.venv
    /tmp/old/.venv/bin/pip install -e /tmp/old
    python benchmarks/bench_versions.py --other /tmp/old/.venv/bin/jjb-envdelivery \\
        --corpora ../shared/corpora --repeat 5

`--fast 0` renders this checkout with ``JJB_ENVDELIVERY_FAST=0`` (JJB's own classes only), to
measure what the fast path saves. Ratios are this/other: below 1 is faster.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from bench_render import CORPORA


def renderer(work: Path, label: str, executable: str, command: list[str], cwd: Path | None, switch: str | None):
    """The i-th timed render of one installation, into work/<label>-<i>."""
    def run(i: int) -> common.Measure:
        env = common.isolated_env(work / f"cache-{label}")
        if switch is not None:
            env["JJB_ENVDELIVERY_FAST"] = switch
        return common.run([executable, *command, "-o", work / f"{label}-{i}"], cwd=cwd, env=env)
    return run


def same_bytes(work: Path, i: int) -> None:
    common.assert_same_tree(work / f"other-{i}", work / f"this-{i}")
    shutil.rmtree(work / f"other-{i}")
    shutil.rmtree(work / f"this-{i}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", required=True, type=Path, help="the other installation's jjb-envdelivery")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command (alternating)")
    parser.add_argument("--corpora", type=Path, help="../shared/corpora: also the real-world corpora")
    parser.add_argument("--fast", choices=("0", "1"), default="1", help="JJB_ENVDELIVERY_FAST for this checkout")
    args = parser.parse_args(argv)
    if not os.access(args.other, os.X_OK):
        parser.error(f"--other {args.other}: not an executable")
    print(common.header(sys.argv))
    cases = {"example organisation (400 jobs)": (["render", str(common.REPO / "examples/example-org")], None)}
    for name, (options, recursive, paths) in CORPORA.items():
        corpus = args.corpora / name if args.corpora else None
        if corpus is not None and corpus.is_dir():
            cases[name] = (["render", *options, *recursive, paths], corpus)
    with tempfile.TemporaryDirectory(prefix="bench-versions-") as tmp:
        work = Path(tmp)
        for title, (command, cwd) in cases.items():
            results = common.alternate("other", renderer(work, "other", str(args.other), command, cwd, None),
                                       "this", renderer(work, "this", common.ENVDELIVERY, command, cwd, args.fast),
                                       args.repeat, after=lambda i: same_bytes(work, i))
            print(common.summary(f"{title} (this checkout: JJB_ENVDELIVERY_FAST={args.fast})",
                                 "this", results["this"], "other", results["other"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
