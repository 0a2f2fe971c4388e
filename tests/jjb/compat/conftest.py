"""Compat tests: this package must not change what plain JJB writes for configs not using it."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections import Counter
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _load(name: str):
    # --import-mode=importlib: sibling modules are not importable by name, so load them by path.
    # Registered in sys.modules because dataclasses look their module up there.
    key = f"jjb_envdelivery_compat_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, HERE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


_scenarios = _load("_jjb_scenarios")


def _fixture_corpus() -> Path:
    # Same location rule as tests/conftest.py's corpora_dir, needed at collection time, where
    # fixtures are unavailable; the tests themselves still go through corpora_dir to skip.
    shared = Path(os.environ.get("JJB_ENVDELIVERY_SHARED", HERE.parents[2].parent / "shared"))
    return shared / "corpora" / _scenarios.CORPUS


@pytest.fixture(scope="session")
def jjb_scenarios():
    return _scenarios


@pytest.fixture(scope="session")
def cli_runs():
    return _load("_cli_runs")


@pytest.fixture(scope="session")
def jjb_fixtures_root(corpora_dir) -> Path:
    root = corpora_dir / _scenarios.CORPUS
    if not root.is_dir():
        pytest.skip(f"no {_scenarios.CORPUS} in {corpora_dir}")
    return root.resolve()


def pytest_generate_tests(metafunc):
    if "jjb_scenario" not in metafunc.fixturenames:
        return
    root = _fixture_corpus()
    if (root / "tests").is_dir():
        found = _scenarios.scenarios(root)
        # Scenarios of kind "skip" have nothing to run here (see _jjb_scenarios.SKIPPED_*), so they
        # are not collected; they are still counted: test_fixture_inventory asserts how many there
        # are, and the terminal summary says how many were left out and why.
        runnable = [s for s in found if s.kind != "skip"]
        _left_out.clear()
        _left_out.update((_where(s), s.skip_reason) for s in found if s.kind == "skip")
        metafunc.parametrize("jjb_scenario", runnable, ids=[_scenarios.scenario_id(s) for s in runnable])
    else:
        # One placeholder; the test's corpora_dir/jjb_fixtures_root fixture skips it.
        metafunc.parametrize("jjb_scenario", [None], ids=["no-corpus"])


def _where(s) -> str:
    """The scenario's fixture directory, relative to the corpus's tests/ (e.g. cmd/fixtures)."""
    return str(s.fixtures_dir.relative_to(s.fixtures_dir.parents[1]))


_outcomes: Counter = Counter()
_left_out: Counter = Counter()  # (fixture dir, reason) -> scenarios not collected


def pytest_runtest_logreport(report):
    if "test_jjb_fixtures.py::test_jjb_fixture[" not in report.nodeid:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _outcomes[report.outcome] += 1


def pytest_terminal_summary(terminalreporter):
    if not _outcomes:
        return  # the fixture scenarios were not run (deselected, or no test of them collected)
    ran = _outcomes["passed"] + _outcomes["failed"]
    line = (f"JJB 6.5.0 fixture scenarios: {ran} ran ({_outcomes['passed']} passed, "
            f"{_outcomes['failed']} failed), {_outcomes['skipped']} skipped")
    if not _left_out:
        terminalreporter.write_line(line)
        return
    terminalreporter.write_line(f"{line}, {sum(_left_out.values())} not collected "
                                "(nothing here can run them; test_fixture_inventory counts them):")
    reasons: dict[str, list[tuple[str, int]]] = {}
    for (where, reason), count in sorted(_left_out.items()):
        reasons.setdefault(reason, []).append((where, count))
    for reason, places in sorted(reasons.items(), key=lambda kv: -sum(c for _, c in kv[1])):
        total = sum(c for _, c in places)
        terminalreporter.write_line(f"  {total:3d} in {', '.join(w for w, _ in places)}: {reason}")
