"""Shared helpers of the benchmarks: measured subprocess runs, alternation, medians, output trees.

Every measured command runs in its own process; its wall time comes from the parent and its CPU
time and peak memory (max RSS) from ``os.wait4``, i.e. the rusage of that child alone.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

BIN = Path(sys.executable).parent
JENKINS_JOBS = str(BIN / "jenkins-jobs")
ENVDELIVERY = str(BIN / "jjb-envdelivery")
HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# An explicit ini for every JJB-reading command, so no user or system config is read.
PLAIN_INI = "[job_builder]\nignore_cache=True\n\n[jenkins]\nurl=http://localhost:8080\nquery_plugins_info=False\n"


class CommandFailed(RuntimeError):
    pass


@dataclass
class Measure:
    """One or more processes run one after another."""

    wall: float = 0.0
    cpu: float = 0.0
    maxrss_mb: float = 0.0
    processes: int = 0
    extra: dict = field(default_factory=dict)

    def add(self, other: "Measure") -> "Measure":
        self.wall += other.wall
        self.cpu += other.cpu
        self.maxrss_mb = max(self.maxrss_mb, other.maxrss_mb)
        self.processes += other.processes
        return self


def run(cmd: Sequence[str], cwd: Path | None = None, env: dict | None = None, check: bool = True) -> Measure:
    """Run `cmd`; its wall time, CPU (user + system) and peak RSS in MB."""
    # Untimed: earlier runs' files (and their deletion) reach the disk before this one starts.
    os.sync()
    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        proc = subprocess.Popen(list(map(str, cmd)), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if check and proc.returncode != 0:
            log.seek(0)
            tail = log.read()[-4000:].decode("utf-8", "replace")
            raise CommandFailed(f"exit {proc.returncode}: {' '.join(map(str, cmd))}\n{tail}")
    return Measure(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, 1)


def alternate(label_a: str, a: Callable[[int], Measure], label_b: str, b: Callable[[int], Measure],
              repeat: int, after: Callable[[int], None] | None = None) -> dict[str, list[Measure]]:
    """Run a and b `repeat` times each, alternating which goes first; `after(i)` checks each pair."""
    results: dict[str, list[Measure]] = {label_a: [], label_b: []}
    for i in range(repeat):
        order = [(label_a, a), (label_b, b)] if i % 2 == 0 else [(label_b, b), (label_a, a)]
        for label, func in order:
            results[label].append(func(i))
            print(f"  run {i + 1}/{repeat} {label}: {describe(results[label][-1])}", flush=True)
        if after is not None:
            after(i)
    return results


def describe(m: Measure) -> str:
    extra = "".join(f", {k} {v}" for k, v in m.extra.items())
    return f"{m.wall:.2f} s wall, {m.cpu:.2f} s CPU, {m.maxrss_mb:.0f} MB max RSS, {m.processes} process(es){extra}"


def median_ratio(slow: list[Measure], fast: list[Measure], attr: str = "wall") -> float:
    """Median of the per-pair ratios slow/fast (pairs ran back to back)."""
    return statistics.median(getattr(s, attr) / getattr(f, attr) for s, f in zip(slow, fast, strict=True))


def med(ms: list[Measure], attr: str = "wall") -> float:
    return statistics.median(getattr(m, attr) for m in ms)


def summary(title: str, slow_label: str, slow: list[Measure], fast_label: str, fast: list[Measure]) -> str:
    lines = [
        f"{title}",
        f"  {slow_label}: median {med(slow):.2f} s wall, {med(slow, 'cpu'):.2f} s CPU, "
        f"max RSS {max(m.maxrss_mb for m in slow):.0f} MB",
        f"  {fast_label}: median {med(fast):.2f} s wall, {med(fast, 'cpu'):.2f} s CPU, "
        f"max RSS {max(m.maxrss_mb for m in fast):.0f} MB",
        f"  median ratio {slow_label} / {fast_label}: {median_ratio(slow, fast):.2f}x wall, "
        f"{median_ratio(slow, fast, 'cpu'):.2f}x CPU",
    ]
    return "\n".join(lines)


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}


def assert_same_tree(expected: Path, actual: Path) -> int:
    """Byte-identical output trees; returns the number of files."""
    a, b = read_tree(expected), read_tree(actual)
    if a.keys() != b.keys():
        missing, extra = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
        raise AssertionError(f"file sets differ: missing {missing[:5]}, extra {extra[:5]}")
    differing = [name for name in a if a[name] != b[name]]
    if differing:
        raise AssertionError(f"{len(differing)} files differ, e.g. {differing[:5]}")
    return len(a)


def isolated_env(cache: Path) -> dict:
    """Each run its own cache dir: JJB's job cache lock serialises runs sharing one."""
    cache.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONDONTWRITEBYTECODE": "1"}


def parse_sizes(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s.strip()]


def header(argv: list[str]) -> str:
    import platform

    cmd = " ".join(["python", *map(str, argv)])
    return (f"command: {cmd}\npython {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"{time.strftime('%Y-%m-%d %H:%M')}")
