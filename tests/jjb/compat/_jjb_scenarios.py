"""Enumerate and run JJB 6.5.0's own test fixtures against the real installed entry points.

A re-implementation of the checks in JJB's tests/conftest.py and tests/enum_scenarios.py, without
their ``pkg_resources.iter_entry_points`` patch: every component, module, project and view type is
looked up among the installed distributions, so this project's entry points take part.

Enumeration (``scenarios``) uses only pathlib so collection works without JJB imports; the
``run_*`` functions import JJB lazily.
"""

from __future__ import annotations

import json
import os
import warnings
import xml.etree.ElementTree as XML
from dataclasses import dataclass
from pathlib import Path

CORPUS = "jjb-6.5.0-fixtures"

# How each fixture directory of JJB's tests/ is checked, as in the matching test_*.py upstream.
# "snippet": one module's gen_xml into a bare <project> (or the project type's root_xml);
# the target names an entry point "group:name" of the installed distributions.
SNIPPET = {
    "builders/fixtures": "jenkins_jobs.modules:builders",
    "general/fixtures": "jenkins_jobs.modules:general",
    "githuborg/fixtures": "jenkins_jobs.projects:githuborg",
    "hipchat/fixtures": "jenkins_jobs.modules:hipchat",
    "multibranch/fixtures": "jenkins_jobs.projects:multibranch",
    "multibranch/error_fixtures": "jenkins_jobs.projects:multibranch",
    "notifications/fixtures": "jenkins_jobs.modules:notifications",
    "parameters/fixtures": "jenkins_jobs.modules:parameters",
    "properties/fixtures": "jenkins_jobs.modules:properties",
    "publishers/fixtures": "jenkins_jobs.modules:publishers",
    "reporters/fixtures": "jenkins_jobs.modules:reporters",
    "scm/fixtures": "jenkins_jobs.modules:scm",
    "triggers/fixtures": "jenkins_jobs.modules:triggers",
    "wrappers/fixtures": "jenkins_jobs.modules:wrappers",
}
# Whole files: load -> generate -> amend -> XmlJobGenerator (optionally an expected .error).
JOB_DIRS = {
    "yamlparser/job_fixtures": ".yaml",
    "macros/fixtures": ".yaml",
    "jsonparser/fixtures": ".json",
    "duplicates/job_fixtures": ".yaml",
    "triggers/job_fixtures": ".yaml",
}
VIEW_DIRS = {"yamlparser/view_fixtures", "duplicates/view_fixtures"}
VIEW_SNIPPET_DIRS = {"views/fixtures"}
# Upstream runs these with no config file and no plugins info, whatever the fixture dir holds.
PARSER_ERROR_DIRS = {"yamlparser/error_fixtures"}
LOADER_DIRS = {"loader/fixtures"}
# Not fixture-driven: the assertions live in JJB's Python test code, which the corpus omits.
SKIPPED_DIRS = {
    "cmd/fixtures": "CLI tests: jenkins-jobs commands with mocked python-jenkins and "
    "hand-written assertions (tests/cmd/*.py), not fixture pairs",
    "xml_config/exceptions": "inputs for hand-written assertions in tests/xml_config/"
    "test_xml_config.py (no expected files)",
    "loader/loc_fixtures": "input for hand-written position assertions in "
    "tests/loader/test_locations.py (no expected files)",
}
# Single scenarios that need JJB's test-only Python code.
SKIPPED_SCENARIOS = {
    "yamlparser/job_fixtures/filter_modules.yaml": "its .conf sets filter_modules=myfilter, "
    "a Python module in JJB's tests/ that the corpus (data only) does not ship",
}


@dataclass(frozen=True)
class Scenario:
    kind: str  # snippet | view-snippet | job | view | parser-error | loader-* | skip
    fixtures_dir: Path  # resolved; JJB resolves input paths, so error texts use this form
    name: str
    in_path: Path
    out_paths: tuple[Path, ...]
    error_path: Path
    config_path: Path
    plugins_info_path: Path
    target: str = ""  # entry point for snippets
    skip_reason: str = ""

    @property
    def id(self) -> str:
        rel = self.in_path.relative_to(self.fixtures_dir.parent.parent)
        return str(rel)


def _enum(fixtures_dir: Path, in_ext: str = ".yaml", out_ext: str = ".xml"):
    """Yield (name, in_path, out_paths, error, conf, plugins_info) like enum_scenarios.py."""
    compound = set()
    if out_ext == ".xml":
        # A directory holding expected-output.xml is one scenario loaded as a whole.
        for path in sorted(fixtures_dir.rglob("expected-output.xml")):
            d = path.parent
            compound.add(d)
            yield (d.stem, d, (path,), d / "expected.error", d / "test.conf", d / "test.plugins_info.yaml")
    for path in sorted(fixtures_dir.rglob(f"*{in_ext}")):
        if path.name.endswith("plugins_info.yaml") or any(d in path.parents for d in compound):
            continue
        # Expected output of jobs in folders sits in same-named files in subdirectories.
        outs = tuple(sorted(fixtures_dir.rglob(path.with_suffix(out_ext).name)))
        yield (
            path.stem,
            path,
            outs,
            path.with_suffix(".error"),
            path.with_suffix(".conf"),
            path.with_suffix(".plugins_info.yaml"),
        )


def _make(kind, fixtures_dir, tup, **kw) -> Scenario:
    name, in_path, outs, err, conf, pinfo = tup
    return Scenario(kind, fixtures_dir, name, in_path, outs, err, conf, pinfo, **kw)


def scenarios(corpus_root: Path) -> list[Scenario]:
    """Every scenario of the fixture corpus, including the skipped ones (kind "skip")."""
    tests = corpus_root.resolve() / "tests"
    out: list[Scenario] = []
    known = (
        set(SNIPPET)
        | set(JOB_DIRS)
        | VIEW_DIRS
        | VIEW_SNIPPET_DIRS
        | PARSER_ERROR_DIRS
        | LOADER_DIRS
        | set(SKIPPED_DIRS)
    )
    present = {str(p.relative_to(tests)) for p in tests.glob("*/*") if p.is_dir()}
    unknown = present - known
    if unknown:
        # A new fixture dir must be classified, not silently ignored.
        raise ValueError(f"unclassified JJB fixture dirs: {sorted(unknown)}")
    for rel in sorted(present):
        fdir = tests / rel
        if rel in SKIPPED_DIRS:
            for tup in _enum(fdir):
                out.append(_make("skip", fdir, tup, skip_reason=SKIPPED_DIRS[rel]))
        elif rel in SNIPPET:
            out += [_make("snippet", fdir, t, target=SNIPPET[rel]) for t in _enum(fdir)]
        elif rel in VIEW_SNIPPET_DIRS:
            out += [_make("view-snippet", fdir, t) for t in _enum(fdir)]
        elif rel in JOB_DIRS:
            out += [_make("job", fdir, t) for t in _enum(fdir, in_ext=JOB_DIRS[rel])]
        elif rel in VIEW_DIRS:
            out += [_make("view", fdir, t) for t in _enum(fdir)]
        elif rel in PARSER_ERROR_DIRS:
            out += [_make("parser-error", fdir, t) for t in _enum(fdir)]
        elif rel in LOADER_DIRS:
            out += _loader_scenarios(fdir)
    for i, s in enumerate(out):
        reason = SKIPPED_SCENARIOS.get(str(s.in_path.relative_to(tests)))
        if reason:
            out[i] = Scenario(
                "skip",
                s.fixtures_dir,
                s.name,
                s.in_path,
                s.out_paths,
                s.error_path,
                s.config_path,
                s.plugins_info_path,
                skip_reason=reason,
            )
    return out


def _loader_scenarios(fdir: Path) -> list[Scenario]:
    # As tests/loader/test_loader.py: job data as JSON, XML of the same inputs, duplicate-anchor
    # errors, and anchor/alias expansion (.iyaml -> .oyaml). custom_* feed hand-written tests.
    out = []
    for t in _enum(fdir, out_ext=".json"):
        name = t[0]
        if name.startswith("custom_"):
            out.append(
                _make(
                    "skip",
                    fdir,
                    t,
                    skip_reason="custom_* inputs feed hand-written "
                    "anchor tests in tests/loader/test_loader.py (no expected files)",
                )
            )
        elif name.startswith("exception_"):
            out.append(_make("loader-composer-error", fdir, t))
        else:
            out.append(_make("loader-json", fdir, t))
    for t in _enum(fdir):
        if not t[0].startswith(("custom_", "exception_")) and t[2]:
            s = _make("job", fdir, t)
            # Same input as a loader-json scenario: give the XML check its own id.
            out.append(
                Scenario(
                    "job",
                    fdir,
                    s.name,
                    s.in_path,
                    s.out_paths,
                    s.error_path,
                    s.config_path,
                    s.plugins_info_path,
                    target="xml",
                )
            )
    out += [_make("loader-anchor", fdir, t) for t in _enum(fdir, ".iyaml", ".oyaml")]
    return out


def scenario_id(s: Scenario) -> str:
    suffix = {"loader-json": "[json]", "job": "[xml]" if s.target == "xml" else ""}
    return s.id + suffix.get(s.kind, "")


# --- running ----------------------------------------------------------------------------------


def _config(path):
    from jenkins_jobs.config import JJBConfig

    # A path that does not exist is still passed, so user/system configs are never read.
    config = JJBConfig(str(path))
    config.validate()
    return config


def _plugins_info(s: Scenario):
    import yaml
    from jenkins.plugins import Plugin

    if not s.plugins_info_path.exists():
        return []
    # As a live Jenkins returns them (python-jenkins Plugin: versions compare as versions). Plain
    # strings, as `jenkins-jobs test -p` passes them, compare lexically ("2" < "2.0.0"), and the
    # expected XML of e.g. triggers/gitlab-merge-request002 (version '2') needs the former.
    return [Plugin(**info) for info in yaml.safe_load(s.plugins_info_path.read_text())]


def _registry(config, plugins_info):
    from jenkins_jobs.registry import ModuleRegistry

    return ModuleRegistry(config, plugins_info)


def _entry_point_class(spec: str):
    import pkg_resources

    group, name = spec.split(":")
    eps = list(pkg_resources.iter_entry_points(group=group, name=name))
    if len(eps) != 1:
        raise LookupError(f"expected one installed entry point {spec}, got {eps}")
    return eps[0].load()


def _quotes_escaped_in_text() -> bool:
    from xml.dom import minidom

    return "&quot;" in minidom.parseString('<a>"</a>').documentElement.toxml()


# The fixtures were written by a Python whose minidom leaves '"' raw in text nodes (CPython
# gh-50002: 3.13, backported to later 3.12/3.11 patch releases); older ones such as 3.11.7 write
# &quot;. Both are the same XML text, so undo that one escape in our output before comparing.
# The corpus has no &quot; at all, so this cannot hide a difference in attribute values.
_UNESCAPE_QUOTES = _quotes_escaped_in_text()


def _output(xml_job) -> str:
    text = xml_job.output().decode()
    return text.replace("&quot;", '"') if _UNESCAPE_QUOTES else text


def _pretty(xml_list) -> str:
    from jenkins_jobs.alphanum import AlphanumSort

    xml_list = sorted(xml_list, key=AlphanumSort)
    return "\n".join(_output(x) for x in xml_list).strip().replace("\n\n", "\n")


def _expected(s: Scenario) -> str | None:
    if not s.out_paths:
        return None  # upstream only checks that generation succeeds
    return "".join(p.read_text() for p in s.out_paths)


def _normalized_expected(s: Scenario) -> str | None:
    text = _expected(s)
    if text is None:
        return None
    return text.strip().replace("<BLANKLINE>", "").replace("\n\n", "\n")


def canonical_error(exc, fixtures_dir: Path) -> str:
    text = "\n".join(exc.lines)
    return text.replace(str(fixtures_dir) + "/", "").replace(str(fixtures_dir), "fixtures-dir")


def _load_roots(config, paths):
    from jenkins_jobs.loader import load_files
    from jenkins_jobs.roots import Roots

    roots = Roots(config)
    load_files(config, roots, paths)
    return roots


def _check_folders(s: Scenario, xml_list) -> None:
    # Expected jobs' folders are the directories of the expected files (relative to the input
    # dir, or to the scenario dir for compound scenarios).
    base = s.in_path if s.in_path.is_dir() else s.in_path.parent

    def parent_of_path(p):
        d = str(p.relative_to(base).parent)
        return "" if d == "." else d

    actual = sorted({"/".join(x.name.split("/")[:-1]) for x in xml_list})
    expected = sorted(parent_of_path(p) for p in s.out_paths)
    assert expected == actual, "job folders differ from the expected files' directories"


def run_job(s: Scenario) -> None:
    from jenkins_jobs import utils
    from jenkins_jobs.xml_config import XmlJobGenerator

    config = _config(s.config_path)
    registry = _registry(config, _plugins_info(s))
    if config.recursive:
        paths = [Path(p) for p in utils.recurse_path(str(s.in_path))]
    else:
        paths = [s.in_path]
    roots = _load_roots(config, paths)
    registry.set_macros(roots.macros)
    jobs = roots.generate_jobs()
    registry.amend_job_dicts(jobs)
    xml_list = XmlJobGenerator(registry).generateXML(jobs)
    expected = _normalized_expected(s)
    if expected is None:
        return
    assert _pretty(xml_list) == expected
    _check_folders(s, xml_list)


def run_view(s: Scenario) -> None:
    from jenkins_jobs.xml_config import XmlViewGenerator

    config = _config(s.config_path)
    registry = _registry(config, _plugins_info(s))
    roots = _load_roots(config, [s.in_path])
    registry.set_macros(roots.macros)
    xml_list = XmlViewGenerator(registry).generateXML(roots.generate_views())
    expected = _normalized_expected(s)
    if expected is not None:
        assert _pretty(xml_list) == expected


def run_parser(s: Scenario) -> None:
    """Upstream check_parser: no config file, no plugins info; generate everything."""
    from jenkins_jobs.xml_config import XmlJobGenerator, XmlViewGenerator

    config = _config(os.devnull)
    registry = _registry(config, None)
    roots = _load_roots(config, [s.in_path])
    registry.set_macros(roots.macros)
    jobs = roots.generate_jobs()
    views = roots.generate_views()
    XmlJobGenerator(registry).generateXML(jobs)
    XmlViewGenerator(registry).generateXML(views)


def run_snippet(s: Scenario) -> None:
    from jenkins_jobs.loader import Loader
    from jenkins_jobs.xml_config import XmlJob

    config = _config(s.config_path)
    registry = _registry(config, _plugins_info(s))
    data = Loader.empty(config).load_path(s.in_path)
    if s.kind == "view-snippet":
        # Views build their whole XML in root_xml (XmlGenerator skips gen_xml for views).
        xml = _entry_point_class(f"jenkins_jobs.views:{data['view-type']}")(registry).root_xml(data)
    else:
        ptype = data.get("project-type", "freestyle") if isinstance(data, dict) else "freestyle"
        if ptype == "freestyle":
            xml = XML.Element("project")
        else:
            xml = _entry_point_class(f"jenkins_jobs.projects:{ptype}")(registry).root_xml(data)
        _entry_point_class(s.target)(registry).gen_xml(xml, data)
    out = _output(XmlJob(xml, "fixturejob"))
    assert out == _expected(s)


def run_loader_json(s: Scenario) -> None:
    config = _config(s.config_path)
    roots = _load_roots(config, [s.in_path])
    data = [dict(sorted(j.data.items())) for j in roots.generate_jobs()]
    assert json.dumps(data, indent=4) == _expected(s).strip()


def run_loader_anchor(s: Scenario) -> None:
    import yaml
    from jenkins_jobs.loader import Loader

    config = _config(s.config_path)
    loader = Loader(s.in_path.read_text(), jjb_config=config, source_path=s.in_path, source_dir=s.in_path.parent)
    data = json.loads(json.dumps(loader.get_single_data()))
    assert yaml.safe_dump(data, default_flow_style=False) == _expected(s)


def run(s: Scenario) -> None:
    """Run one scenario; raises AssertionError on a mismatch."""
    import pytest
    from jenkins_jobs.errors import JenkinsJobsException

    if s.kind == "loader-json":
        return run_loader_json(s)
    if s.kind == "loader-anchor":
        return run_loader_anchor(s)
    if s.kind == "loader-composer-error":
        from yaml.composer import ComposerError

        with pytest.raises(ComposerError) as excinfo:
            run_job(s)
        assert str(excinfo.value).startswith("found duplicate anchor ")
        return None
    func = {
        "snippet": run_snippet,
        "view-snippet": run_snippet,
        "job": run_job,
        "view": run_view,
        "parser-error": run_parser,
    }[s.kind]
    if s.kind == "parser-error" or s.error_path.exists():
        with pytest.raises(JenkinsJobsException) as excinfo:
            func(s)
        assert canonical_error(excinfo.value, s.fixtures_dir) == s.error_path.read_text().rstrip()
        return None
    if s.name.startswith("deprecated-"):
        # Upstream asserts these warn about the deprecated tag.
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            func(s)
        assert any("is deprecated" in str(w.message) for w in record)
        return None
    return func(s)
