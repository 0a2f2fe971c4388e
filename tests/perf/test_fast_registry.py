"""fast_registry against JJB's ModuleRegistry: the same component tables, the same duplicate
error, and the requirement check made once per distribution instead of once per component."""

from __future__ import annotations

import sys
import types

import pkg_resources
import pytest
from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.registry import ModuleRegistry

from jjb_envdelivery.jjb import pipeline
from jjb_envdelivery.jjb.fast_registry import FastModuleRegistry


@pytest.fixture
def fresh_tables(monkeypatch):
    """Empty class-level caches for the test, JJB's own restored after it."""
    monkeypatch.setattr(ModuleRegistry, "_entry_points_cache", {})
    monkeypatch.setattr(FastModuleRegistry, "_checked_distributions", set())


def _groups(registry) -> list:
    groups = []
    for module in registry.modules:
        if module.component_type is not None:
            ep = registry.modules_by_component_type[module.component_type]
            groups.append((registry.get_component_list_type(ep), module.component_type, ep))
    return groups


def _tables(registry, groups=None) -> dict:
    tables = {}
    for kind, component_type, ep in groups or _groups(registry):
        ModuleRegistry._entry_points_cache.pop(kind, None)
        tables[kind] = list(registry._load_eps(kind, component_type, ep, "x").items())
    return tables


def test_tables_are_jjbs(fresh_tables):
    config = pipeline.make_jjb_config()
    plain = _tables(ModuleRegistry(config, []))
    fast = _tables(FastModuleRegistry(config, []))
    assert fast == plain
    assert sum(len(t) for t in fast.values()) > 300
    assert ("envdelivery-env", sys.modules["jjb_envdelivery.jjb.builders"].envdelivery_env) in fast["builders"]


def test_requirements_checked_once_per_distribution(fresh_tables, monkeypatch):
    registry = FastModuleRegistry(pipeline.make_jjb_config(), [])
    groups = _groups(registry)
    calls = []
    real = pkg_resources.EntryPoint.require
    monkeypatch.setattr(pkg_resources.EntryPoint, "require", lambda self, *a, **k: calls.append(self.dist)
                        or real(self, *a, **k))
    tables = _tables(registry, groups)
    assert sum(len(t) for t in tables.values()) > 300
    assert len(calls) == len(set(calls)) <= 2  # JJB's distribution and this one


def test_duplicate_component_error_is_jjbs(fresh_tables, monkeypatch):
    module = types.ModuleType("envdelivery_twice")

    def first(registry, xml_parent, data):
        """yaml: twice"""

    def second(registry, xml_parent, data):
        """yaml: twice
        The same name again."""

    module.first, module.second = first, second
    monkeypatch.setitem(sys.modules, module.__name__, module)
    dist = pkg_resources.get_distribution("jenkins-job-builder")
    ep = pkg_resources.EntryPoint("twice", module.__name__, dist=dist)
    config = pipeline.make_jjb_config()
    errors = []
    for cls in (ModuleRegistry, FastModuleRegistry):
        with pytest.raises(JenkinsJobsException) as excinfo:
            cls(config, [])._load_eps("envdelivery-test-none", "builder", ep, "called")
        errors.append(str(excinfo.value))
    assert errors[0] == errors[1]
    assert "Duplicate entry point found for component type: 'builder'" in errors[0]


def test_a_new_registry_is_jjbs(fresh_tables):
    plugins = [{"shortName": "git", "longName": "Git plugin", "version": "4.0.0"},
               {"shortName": "odd", "version": None}]
    config = pipeline.make_jjb_config()
    plain = ModuleRegistry(config, [dict(p) for p in plugins])
    fast = FastModuleRegistry(config, [dict(p) for p in plugins])
    assert sorted(vars(fast)) == sorted(vars(plain))
    assert [type(m) for m in fast.modules] == [type(m) for m in plain.modules]
    assert all(m.registry is fast for m in fast.modules)
    assert {k: (ep.name, ep.module_name) for k, ep in fast.modules_by_component_type.items()} == \
        {k: (ep.name, ep.module_name) for k, ep in plain.modules_by_component_type.items()}
    assert fast._plugin_version == plain._plugin_version
    for ep in fast.modules_by_component_type.values():
        assert fast.get_component_list_type(ep) == plain.get_component_list_type(ep)
