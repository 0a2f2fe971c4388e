"""Run plain `jenkins-jobs` in subprocesses, with this distribution installed or hidden."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DIST = "jjb-envdelivery"

# Given to `python -c`. argv: <dist to hide|-> <probe|jjb> [jenkins-jobs args...].
# Hiding removes the distribution from both discovery paths JJB 6.5 uses: pkg_resources (modules,
# components, project and view types) and importlib.metadata (stevedore: subcommands). Its code
# stays importable; only its metadata, hence its entry points, disappears.
RUNNER = r"""
import re, sys

def norm(name):
    return re.sub(r"[-_.]+", "-", name or "").lower()

def hide(dist):
    import importlib.metadata as md
    import pkg_resources

    ws = pkg_resources.working_set
    keys = [k for k in ws.by_key if norm(k) == dist]
    if not keys:
        sys.exit(f"runner: {dist} is not installed, nothing to hide")
    for key in keys:
        del ws.by_key[key]
        for entry_keys in ws.entry_keys.values():
            while key in entry_keys:
                entry_keys.remove(key)
    discover = md.Distribution.discover.__func__

    def filtered(cls, **kwargs):
        return (d for d in discover(cls, **kwargs) if norm(d.metadata["Name"]) != dist)

    md.Distribution.discover = classmethod(filtered)

def probe():
    import importlib.metadata as md
    import pkg_resources

    print("builders:", " ".join(sorted(
        ep.name for ep in pkg_resources.iter_entry_points("jenkins_jobs.builders"))))
    print("pkg_resources:", " ".join(sorted(norm(d.project_name) for d in pkg_resources.working_set)))
    print("importlib.metadata:", " ".join(sorted(norm(d.metadata["Name"]) for d in md.distributions())))

dist, action, *args = sys.argv[1:]
if dist != "-":
    hide(norm(dist))
if action == "probe":
    probe()
else:
    sys.argv = ["jenkins-jobs", *args]
    from jenkins_jobs.cli.entry import main
    sys.exit(main())
"""


def start(hide: bool, action: str, args: list[str], cwd: Path, cache: Path, dist: str = DIST) -> subprocess.Popen:
    """Start the runner; each run gets its own cache dir (JJB job cache, stevedore's cache)."""
    cache.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, dist if hide else "-", action, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 900) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise
    return proc.returncode, out, err


def run(hide: bool, action: str, args: list[str], cwd: Path, cache: Path, dist: str = DIST):
    return finish(start(hide, action, args, cwd, cache, dist))


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under root, by POSIX relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
