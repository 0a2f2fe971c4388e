"""JJB 6.5.0's own fixtures, rendered through the real installed entry points (ours included).

Upstream's harness patches pkg_resources.iter_entry_points with JJB's own setup.cfg, which would
hide this plugin; here nothing is patched, so every component dispatch goes through entry point
groups that contain envdelivery-env/-update. Any mismatch is either a JJB/Python quirk (handled
and documented in _jjb_scenarios.py) or a change caused by installing this package.
"""

from __future__ import annotations

from collections import Counter

import pkg_resources
import pytest

OUR_BUILDERS = {"envdelivery-env", "envdelivery-update"}


@pytest.mark.corpus
# The whole JJB fixture corpus (1,213 scenarios, ~20 s here); the cheap guards below stay quick.
@pytest.mark.slow
def test_jjb_fixture(jjb_scenario, jjb_fixtures_root, jjb_scenarios, monkeypatch):
    # Scenarios of kind "skip" are not collected (conftest.pytest_generate_tests).
    # include_path values in the fixtures' .conf files are relative to JJB's source root.
    monkeypatch.chdir(jjb_fixtures_root)
    jjb_scenarios.run(jjb_scenario)


@pytest.mark.corpus
def test_fixture_inventory(jjb_fixtures_root, jjb_scenarios):
    """Guards against silently running fewer scenarios (e.g. a layout change in the corpus)."""
    found = jjb_scenarios.scenarios(jjb_fixtures_root)
    kinds = Counter(s.kind for s in found)
    errors = [s for s in found if s.kind == "parser-error" or s.error_path.exists()]
    # The corpus README's split: 909 component snippets and 91 exact error texts.
    assert kinds["snippet"] + kinds["view-snippet"] - sum(s.kind == "snippet" for s in errors) == 909
    assert len(errors) == 91
    ran = len(found) - kinds["skip"]
    assert ran > 1100, kinds
    assert kinds["skip"] == 25, [s.id for s in found if s.kind == "skip"]


def test_harness_sees_plugin_entry_points():
    """Without our entry points in the process, the fixture run would prove nothing."""
    names = {ep.name for ep in pkg_resources.iter_entry_points("jenkins_jobs.builders")}
    assert OUR_BUILDERS <= names


@pytest.mark.corpus
def test_builder_dispatch_loads_plugin_entry_points(jjb_fixtures_root, jjb_scenarios):
    """JJB loads the whole builders group on first dispatch: ours must be in its cache."""
    from jenkins_jobs.registry import ModuleRegistry

    snippet = next(
        s
        for s in jjb_scenarios.scenarios(jjb_fixtures_root)
        if s.kind == "snippet" and s.target.endswith(":builders") and s.name == "shell"
    )
    jjb_scenarios.run(snippet)
    assert OUR_BUILDERS <= set(ModuleRegistry._entry_points_cache["builders"])
