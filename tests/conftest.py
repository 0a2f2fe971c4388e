"""Shared test fixtures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_dir() -> Path:
    return Path(os.environ.get("JJB_ENVDELIVERY_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """../shared/corpora, or a skip where this machine has no copy of it."""
    path = _shared_dir() / "corpora"
    if not path.is_dir():
        pytest.skip(f"no corpora at {path} (set JJB_ENVDELIVERY_SHARED to its parent)")
    return path


def _require_commands(*names: str) -> None:
    """Skip a test whose real tools (git, dpkg-deb, ...) this machine lacks; in CI (``CI`` set,
    as .ci/run's callers set it) fail instead: .ci/run installs them, so a skip there is a bug."""
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    message = f"needs {', '.join(missing)} on PATH (.ci/run installs them)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def require_commands():
    """``require_commands("git", "dpkg-deb")`` at the start of a test (see _require_commands)."""
    return _require_commands


MANY_PROJECTS = 40  # enough projects for a plain JJB input to be split over several workers


def _write_many_projects(path: Path, projects: int = MANY_PROJECTS, broken: dict[int, str] | None = None,
                         extra: str = "") -> Path:
    """Plain JJB YAML at `path`: a job-template, a view and `projects` projects making two jobs
    each (svc-N-a, svc-N-b); `broken` replaces some projects' text, `extra` is appended."""
    text = ["- job-template:\n    name: 'svc-{n}-{stream}'\n    description: 'job {n} on {stream}'\n"
            "    builders:\n      - shell: 'make {stream}'\n",
            "- view:\n    name: svc-all\n    view-type: list\n    regex: 'svc-.*'\n"]
    for n in range(projects):
        text.append((broken or {}).get(n) or
                    f"- project:\n    name: p{n}\n    n: {n}\n    stream: [a, b]\n    jobs: ['svc-{{n}}-{{stream}}']\n")
    path.write_text("".join(text) + extra)
    return path


@pytest.fixture(scope="session")
def many_projects():
    """The writer of a plain JJB input with many projects (see _write_many_projects)."""
    return _write_many_projects


@pytest.fixture(scope="session")
def example_org_dir() -> Path:
    return REPO_ROOT / "examples" / "example-org"


def _summary_rows(output: str) -> dict[str, dict[str, int]]:
    """The rows of an update summary table: scope -> {created: n, changed: n, ...}."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.split()[:2] == ["scope", "created"]:
            columns = line.split()[1:]
            rows = {}
            for row in lines[index + 1:]:
                cells = row.split()
                if len(cells) != len(columns) + 1 or not all(c.isdigit() for c in cells[1:]):
                    break
                rows[cells[0]] = dict(zip(columns, map(int, cells[1:]), strict=True))
            return rows
    raise AssertionError(f"no summary table in:\n{output}")


@pytest.fixture(scope="session")
def summary():
    """Parse `update`'s summary table: summary(output)["payments"]["created"]."""
    return _summary_rows
