"""fast_registry against JJB's ModuleRegistry: the same component tables, the same duplicate
error, the requirement check made once per distribution instead of once per component, and
components and macros dispatched to the same XML, errors and warnings."""

from __future__ import annotations

import logging
import sys
import types

import pkg_resources
import pytest
from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.registry import ModuleRegistry

from jjb_envdelivery.jjb import pipeline
from jjb_envdelivery.jjb.fast.registry import FastModuleRegistry


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
    assert sorted(vars(fast)) == sorted([*vars(plain), "_merged_macro_params", "_component_kinds"])  # its caches
    assert [type(m) for m in fast.modules] == [type(m) for m in plain.modules]
    assert all(m.registry is fast for m in fast.modules)
    assert {k: (ep.name, ep.module_name) for k, ep in fast.modules_by_component_type.items()} == \
        {k: (ep.name, ep.module_name) for k, ep in plain.modules_by_component_type.items()}
    assert fast._plugin_version == plain._plugin_version
    for ep in fast.modules_by_component_type.values():
        assert fast.get_component_list_type(ep) == plain.get_component_list_type(ep)


# Macro calls of every kind JJB's dispatch and Macro.dispatch_elements handle: arguments over
# defaults over global defaults, job values over arguments, nested macros, a !j2-yaml: body, a
# string argument (TypeError in JJB), missing parameters and defaults, unknown names, a macro
# masking a built-in component, and a built-in component's own error.
MACRO_CASES = {
    "layers": """
- defaults: {name: global, greeting: hello, who: world}
- defaults: {name: loud, greeting: HELLO}
- builder: {name: greet, defaults: loud, builders: [shell: '{greeting} {who} {extra|none}']}
- builder: {name: twice, who: macro, builders: [greet, greet: {who: args, extra: x}]}
- builder: {name: says, builders: [shell: 'says {description}']}
- property: {name: site, properties: [github: {url: 'https://example.org/{description}'}]}
- job: {name: j, builders: [twice, greet: {greeting: arg}]}
- job:
    name: k
    description: from-job
    builders: [says: {description: from-args}]
    properties: [site: {description: from-args}]
""",
    "j2-yaml body": """
- builder:
    name: lines
    builders: !j2-yaml: |
      {% for n in names %}
      - shell: 'line {{ n }}'
      {% endfor %}
- job: {name: j, builders: [lines: {names: [a, b]}]}
""",
    "string argument": """
- builder: {name: greet, builders: [shell: 'hi {who}']}
- job: {name: j, builders: [greet: oops]}
""",
    "missing parameter": """
- builder: {name: greet, builders: [shell: 'hi {who}']}
- job: {name: j, builders: [greet]}
""",
    "missing defaults": """
- builder: {name: greet, defaults: nowhere, builders: [shell: 'hi']}
- job: {name: j, builders: [greet]}
""",
    "unknown component": """
- job: {name: j, builders: [no-such-builder: {}]}
""",
    "masking macro": """
- builder: {name: shell, builders: [batch: 'masked {x|y}']}
- job: {name: j, builders: [shell, shell: {x: z}], publishers: [archive: {artifacts: '*.log'}]}
""",
    "component error in a macro": """
- publisher: {name: keep, publishers: [archive: {}]}
- job: {name: j, publishers: [keep]}
""",
}


def _dispatch_outcome(path, fast: bool):
    from jenkins_jobs.loader import load_files
    from jenkins_jobs.roots import Roots
    from jenkins_jobs.xml_config import XmlJobGenerator

    from jjb_envdelivery.jjb.fast import expand as fast_expand
    from jjb_envdelivery.jjb.fast import xml_generators as fast_xml
    from jjb_envdelivery.jjb.fast import yaml_loader as fast_yaml

    config = pipeline.make_jjb_config()
    try:
        if fast:
            roots = fast_yaml.load_roots(config, [path])
            fast_expand.use_fast_strings(roots)
            registry, generator = FastModuleRegistry(config, []), fast_xml.FastXmlJobGenerator
        else:
            roots = Roots(config)
            load_files(config, roots, [path])
            registry, generator = ModuleRegistry(config, []), XmlJobGenerator
        registry.set_macros(roots.macros)
        jobs = roots.generate_jobs()
        registry.amend_job_dicts(jobs)
        return [(item.name, item.output()) for item in generator(registry).generateXML(jobs)]
    except JenkinsJobsException as exc:
        return ("error", pipeline.describe_error(exc))
    except Exception as exc:  # noqa: BLE001 - compared, not handled
        return ("exception", type(exc).__name__, str(exc))


@pytest.mark.parametrize("case", sorted(MACRO_CASES))
def test_macro_dispatch_is_jjbs(case, tmp_path, caplog, monkeypatch):
    # Other tests (the CLI's -l) may have quietened JJB's loggers; this one reads the warning.
    caplog.set_level(logging.WARNING, logger="jenkins_jobs.registry")
    monkeypatch.setattr(logging.getLogger("jenkins_jobs.registry"), "disabled", False)
    path = tmp_path / "jobs.yaml"
    path.write_text(MACRO_CASES[case])
    outcomes, warnings = [], []
    for fast in (False, True):
        caplog.clear()
        outcomes.append(_dispatch_outcome(path, fast))
        warnings.append([r.getMessage() for r in caplog.records if r.name == "jenkins_jobs.registry"])
    assert outcomes[1] == outcomes[0]
    assert warnings[1] == warnings[0]
    if case == "layers":
        text = dict(outcomes[0])["j"].decode()
        # A nested call without arguments gets the called macro's own defaults, not the caller's.
        assert "HELLO world none" in text and "HELLO args x" in text and "arg world none" in text
        # Over the call's arguments, the job's values win where JJB's module passes the job
        # (properties), not where it does not (builders).
        text = dict(outcomes[0])["k"].decode()
        assert "says from-args" in text and "https://example.org/from-job" in text
    elif case == "masking macro":
        assert len(warnings[0]) == 1 and "masking an inbuilt definition" in warnings[0][0]
    elif case == "j2-yaml body":
        text = dict(outcomes[0])["j"].decode()
        assert text.index("<command>line a</command>") < text.index("<command>line b</command>")
    elif case == "string argument":
        assert outcomes[0][0] == "exception"
    else:
        assert outcomes[0][0] == "error"


def test_macro_parameters_are_merged_once_per_macro(tmp_path, monkeypatch):
    from jenkins_jobs.macro import Macro

    path = tmp_path / "jobs.yaml"
    path.write_text(MACRO_CASES["layers"])
    picks = []
    real = Macro._pick_defaults
    monkeypatch.setattr(Macro, "_pick_defaults", lambda self, name: picks.append(self.name) or real(self, name))
    outcome = _dispatch_outcome(path, fast=True)
    assert [name for name, _ in outcome] == ["j", "k"]
    # Once per macro (greet's "loud" defaults pick "global" in turn); JJB picks on every call.
    assert sorted(picks) == ["greet", "greet", "says", "site", "twice"]
