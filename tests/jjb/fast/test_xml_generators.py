"""The fast path (loader, expansion, registry, generators, printer) against JJB's own,
in-process: same bytes, same errors.

JJB 6.5.0's fixture corpus (every whole-file job and view scenario, error ones included, and
every component snippet's tree), the example organisation, and the unknown-type error.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jenkins_jobs.errors import JenkinsJobsException
from jenkins_jobs.xml_config import XmlJob, XmlJobGenerator, XmlViewGenerator

from jjb_envdelivery.jjb import pipeline
from jjb_envdelivery.jjb.fast import expand as fast_expand
from jjb_envdelivery.jjb.fast import pretty
from jjb_envdelivery.jjb.fast import xml_generators as fast_xml
from jjb_envdelivery.jjb.fast import yaml_loader as fast_yaml
from jjb_envdelivery.jjb.fast.registry import FastModuleRegistry

COMPAT = Path(__file__).resolve().parents[1] / "compat" / "_jjb_scenarios.py"


def _scenarios_module():
    # tests/jjb/compat's fixture enumeration, loaded by path (--import-mode=importlib).
    key = "jjb_envdelivery_perf_jjb_scenarios"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, COMPAT)
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


@pytest.fixture(scope="module")
def fixtures(corpora_dir):
    sc = _scenarios_module()
    root = corpora_dir / sc.CORPUS
    if not root.is_dir():
        pytest.skip(f"no {sc.CORPUS} in {corpora_dir}")
    return sc, root.resolve(), sc.scenarios(root.resolve())


def _generate(sc, s, fast: bool):
    """(name, bytes) of every item, or the error, as JJB's generator or ours makes them."""
    from jenkins_jobs import utils

    config = sc._config(s.config_path if s.kind != "parser-error" else os.devnull)
    plugins = sc._plugins_info(s) if s.kind != "parser-error" else None
    # Fast: the whole fast path (libyaml loading, plain-string expansion, cached registry).
    registry = FastModuleRegistry(config, plugins) if fast else sc._registry(config, plugins)
    try:
        if s.kind == "job" and config.recursive:
            paths = [Path(p) for p in utils.recurse_path(str(s.in_path))]
        else:
            paths = [s.in_path]
        if fast:
            roots = fast_yaml.load_roots(config, paths)
            fast_expand.use_fast_strings(roots)
        else:
            roots = sc._load_roots(config, paths)
        registry.set_macros(roots.macros)
        jobs_gen, views_gen = ((fast_xml.FastXmlJobGenerator, fast_xml.FastXmlViewGenerator) if fast
                               else (XmlJobGenerator, XmlViewGenerator))
        items = []
        if s.kind in ("job", "parser-error"):
            jobs = roots.generate_jobs()
            registry.amend_job_dicts(jobs)
            items += jobs_gen(registry).generateXML(jobs)
        if s.kind in ("view", "parser-error"):
            items += views_gen(registry).generateXML(roots.generate_views())
        return [(item.name, item.output()) for item in items]
    except JenkinsJobsException as exc:
        return ("error", sc.canonical_error(exc, s.fixtures_dir))
    except Exception as exc:  # noqa: BLE001 - compared, not handled
        return ("exception", type(exc), str(exc))


@pytest.mark.corpus
@pytest.mark.slow  # every whole-file scenario of JJB's fixture corpus, generated twice
@pytest.mark.filterwarnings("ignore:Tag '!include:UserWarning")
def test_whole_file_scenarios_identical(fixtures, monkeypatch):
    sc, root, found = fixtures
    monkeypatch.chdir(root)  # include_path values in the .conf files are relative to it
    checked = differing = 0
    failures = []
    for s in found:
        if s.kind not in ("job", "view", "parser-error"):
            continue
        plain, fast = _generate(sc, s, fast=False), _generate(sc, s, fast=True)
        checked += 1
        if plain != fast:
            differing += 1
            failures.append(s.id)
    assert not failures, f"{differing} of {checked} scenarios differ: {failures[:10]}"
    assert checked > 250


@pytest.mark.corpus
@pytest.mark.slow  # every component snippet of JJB's fixture corpus, printed twice
def test_snippet_trees_print_identically(fixtures, monkeypatch):
    """Every component snippet's tree, printed by JJB's round trip and by the fast printer."""
    from jenkins_jobs.loader import Loader

    sc, root, found = fixtures
    monkeypatch.chdir(root)
    printed = 0
    for s in found:
        if s.kind not in ("snippet", "view-snippet"):
            continue
        config = sc._config(s.config_path)
        registry = sc._registry(config, sc._plugins_info(s))
        try:
            data = Loader.empty(config).load_path(s.in_path)
            if s.kind == "view-snippet":
                xml = sc._entry_point_class(f"jenkins_jobs.views:{data['view-type']}")(registry).root_xml(data)
            else:
                ptype = data.get("project-type", "freestyle") if isinstance(data, dict) else "freestyle"
                if ptype == "freestyle":
                    xml = ET.Element("project")
                else:
                    xml = sc._entry_point_class(f"jenkins_jobs.projects:{ptype}")(registry).root_xml(data)
                sc._entry_point_class(s.target)(registry).gen_xml(xml, data)
        except Exception:  # noqa: BLE001 - error scenarios: no tree to print
            continue
        assert pretty.pretty_xml(xml) == XmlJob(xml, "snippet").output(), s.id
        printed += 1
    assert printed > 850


def test_example_org_identical_to_jjb_generators(example_org_dir, tmp_path):
    """Every scope of the example organisation, generated by JJB's classes and by ours."""
    from jjb_envdelivery.model.loader import load_organisation
    from jjb_envdelivery.scopes import local_jobs_dir, project_scope, root_scope

    org = load_organisation(example_org_dir)
    config = pipeline.make_jjb_config()
    scopes = [root_scope(org, tmp_path)] + [project_scope(org, p, tmp_path, local_jobs_dir(p)) for p in org.projects]
    compared = 0
    for scope in scopes:
        paths = pipeline.expand_paths(scope.yaml_paths, recursive=not scope.is_root, excludes=[".*"])
        fast = pipeline.generate_xml(config, paths)
        plain = _plain_generate(config, paths)
        assert [(i.name, i.output()) for i in fast.jobs + fast.views] == plain
        compared += len(plain)
    assert compared > 400


def _plain_generate(config, paths):
    """generate_xml's steps with JJB's own generators and XmlJob.output()."""
    from jenkins_jobs.alphanum import AlphanumSort
    from jenkins_jobs.loader import load_files
    from jenkins_jobs.registry import ModuleRegistry
    from jenkins_jobs.roots import Roots

    roots = Roots(config)
    load_files(config, roots, list(paths))
    registry = ModuleRegistry(config, config.builder["plugins_info"])
    registry.set_macros(roots.macros)
    jobs, views = roots.generate_jobs(), roots.generate_views()
    registry.amend_job_dicts(jobs)
    xml_jobs = sorted(XmlJobGenerator(registry).generateXML(jobs), key=AlphanumSort)
    xml_views = sorted(XmlViewGenerator(registry).generateXML(views), key=AlphanumSort)
    return [(i.name, i.output()) for i in xml_jobs + xml_views]


@pytest.mark.parametrize("yaml_text", [
    "- job:\n    name: j\n    project-type: no-such-type\n",
    "- view:\n    name: v\n    view-type: no-such-view\n",
    "- job:\n    name: j\n    project-type: [freestyle]\n",
])
def test_unknown_type_error_is_jjbs(tmp_path, yaml_text):
    path = tmp_path / "jobs.yaml"
    path.write_text(yaml_text)
    config = pipeline.make_jjb_config()
    errors = []
    for generate in (_plain_generate, lambda c, p: pipeline.generate_xml(c, p)):
        with pytest.raises(Exception) as excinfo:
            generate(config, [path])
        errors.append((type(excinfo.value), str(excinfo.value)))
    assert errors[0] == errors[1]


def test_items_keep_bytes_not_trees(tmp_path):
    path = tmp_path / "jobs.yaml"
    path.write_text("- job:\n    name: f\n    project-type: folder\n- job:\n    name: f/j\n")
    rendered = pipeline.generate_xml(pipeline.make_jjb_config(), [path])
    item = rendered.jobs[1]
    assert item.name == "f/j"
    assert item.output() is item.output()  # printed once
    assert item.md5() == XmlJob.md5(item)
    with pytest.raises(AttributeError, match="keeps only its output bytes"):
        item.xml  # noqa: B018


def test_type_class_is_jjbs_entry_point():
    import pkg_resources

    for group, kind in [("jenkins_jobs.projects", "freestyle"), ("jenkins_jobs.projects", "folder"),
                        ("jenkins_jobs.views", "list")]:
        expected = next(pkg_resources.iter_entry_points(group=group, name=kind)).load()
        assert fast_xml.type_class(group, kind) is expected
    assert fast_xml.type_class("jenkins_jobs.projects", "no-such-type") is None
