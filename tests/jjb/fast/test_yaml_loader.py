"""fast_yaml (libyaml under JJB's Loader) against JJB's own loader: same roots, same positions,
and JJB's own errors (with their source snippets) whenever anything is wrong."""

from __future__ import annotations

import pytest
from jenkins_jobs.errors import JenkinsJobsException

from jjb_envdelivery.jjb import pipeline
from jjb_envdelivery.jjb.fast import yaml_loader as fast_yaml

pytestmark = pytest.mark.skipif(fast_yaml.CLocLoader is None, reason="PyYAML without libyaml")

FILES = {
    "a.yaml": """\
- defaults:
    name: global
    description: 'from defaults'
- job-template:
    name: 'tpl-{name}'
    builders:
      - shell: !include-raw-expand: script.sh
      - shell: !include-raw-verbatim: script.sh
    publishers: !include: publishers.yaml.inc
- project:
    name: proj
    jobs: ['tpl-{name}']
    extra: &anchor
      key: value
    other: *anchor
""",
    "b.yaml": """\
- job:
    name: j2
    description: !j2: '{{ "x" | upper }} and {{ 40 + 2 }}'
    name-param: here
- job:
    name: multi
    builders:
      - shell: |
          echo one
          echo "{{braces}}" 'single'
      - shell: >
          folded
          text
""",
    "script.sh": "echo {name}\n",
    "publishers.yaml.inc": "- archive:\n    artifacts: '*.tar.gz'\n",
}


def _write(tmp_path, files=FILES):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return [tmp_path / "a.yaml", tmp_path / "b.yaml"]


def _render(config, paths):
    """Jobs and sources, JJB's error with its context, or what else was raised (JJB itself lets
    some input crash it: then both loaders must crash alike)."""
    try:
        scope = pipeline.generate_xml(config, paths, processes=1)
    except JenkinsJobsException as exc:
        return ("error", pipeline.describe_error(exc))
    except Exception as exc:  # noqa: BLE001 - compared, not handled
        return ("exception", type(exc), str(exc))
    return ([(i.name, i.output()) for i in scope.jobs], scope.sources)


def _both(config, paths, monkeypatch):
    fast = _render(config, paths)
    with monkeypatch.context() as m:
        m.setattr(fast_yaml, "CLocLoader", None)  # JJB's own load_files
        plain = _render(config, paths)
    return fast, plain


def test_same_jobs_and_positions(tmp_path, monkeypatch):
    paths = _write(tmp_path)
    config = pipeline.make_jjb_config()
    fast, plain = _both(config, paths, monkeypatch)
    assert fast == plain
    assert len(fast[0]) == 3
    assert fast[1]["multi"] == f"{tmp_path / 'b.yaml'}:5"


def test_libyaml_really_loads_it(tmp_path, monkeypatch):
    """No silent fallback: libyaml loads the file without includes; JJB's Loader the one with."""
    from jenkins_jobs.roots import Roots

    paths = _write(tmp_path)
    config = pipeline.make_jjb_config()
    parsed = []
    real = fast_yaml.CLocLoader._with_stream
    monkeypatch.setattr(fast_yaml.CLocLoader, "_with_stream",
                        lambda self, stream, path, dir_: parsed.append(path) or real(self, stream, path, dir_))
    roots = Roots(config)
    fast_yaml._load_with(fast_yaml.CLocLoader.empty(config), config, roots, paths)
    assert set(roots.jobs) == {"j2", "multi"} and set(roots.projects) == {"proj"}
    assert parsed == [tmp_path / "b.yaml"]


@pytest.mark.parametrize("broken", [
    "- job:\n    name: [unclosed\n",
    "- job:\n  name: bad indent\n   x: 1\n",
    "- job:\n    name: a\n    description: *nowhere\n",
    "- job:\n    name: tab\n\tx: 1\n",
    "- job:\n    name: ctrl \x07\n",
    "just a scalar\n",
    "- job:\n    name: one\n  - two\n",
    "- job:\n    name: inc\n    builders:\n      - shell: !include-raw-expand: missing.sh\n",
    # Loaded fine, failing later: the snippets come from the positions the loader recorded.
    "- job:\n    name: late\n    description: 'needs {nope}'\n",
    "- job:\n    name: late-j2\n    description: !j2: '{{ nope.attr }}'\n",
    "- job:\n    name: late-builder\n    builders:\n      - no-such-builder\n",
])
def test_errors_are_jjbs_with_their_snippets(tmp_path, monkeypatch, broken):
    paths = _write(tmp_path, {**FILES, "b.yaml": broken})
    config = pipeline.make_jjb_config()
    fast, plain = _both(config, paths, monkeypatch)
    assert fast == plain
    assert fast[0] in ("error", "exception")


def test_retained_anchors_use_jjbs_loader(tmp_path, monkeypatch):
    files = {"a.yaml": "- job:\n    name: first\n    description: &shared 'shared text'\n",
             "b.yaml": "- job:\n    name: second\n    description: *shared\n"}
    paths = _write(tmp_path, files)
    ini = tmp_path / "jjb.ini"
    ini.write_text("[job_builder]\nretain_anchors=True\n")
    config = pipeline.make_jjb_config(ini)
    fast, plain = _both(config, paths, monkeypatch)
    assert fast == plain and fast[0] != "error"
    assert b"shared text" in dict(fast[0])["second"]


@pytest.mark.parametrize(("included", "loads"), [
    ("- shell: *cmd\n", True),  # uses the includer's anchor, as JJB allows
    ("- shell: &cmd 'again'\n", False),  # redefines it: JJB's duplicate-anchor error
])
def test_included_yaml_sees_the_includers_anchors_as_in_jjb(tmp_path, monkeypatch, included, loads):
    files = {"a.yaml": "- job:\n    name: inc\n    description: &cmd 'make all'\n"
                       "    builders: !include: builders.yaml.inc\n",
             "b.yaml": "- job:\n    name: other\n",
             "builders.yaml.inc": included}
    paths = _write(tmp_path, files)
    fast, plain = _both(pipeline.make_jjb_config(), paths, monkeypatch)
    assert fast == plain
    assert (fast[0] not in ("error", "exception")) == loads
