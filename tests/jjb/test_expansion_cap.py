"""A team scope whose job-template axes would expand to more jobs than its limit is refused
from the loaded YAML, before JJB enumerates a single point of the product (``check_expansion``).

Each test makes JJB's enumeration of a template's points (jenkins_jobs/dimensions.py,
``enum_dimensions_params``, called from root_base.py ``TemplateRootMixin.generate_items``) fail
if it is reached: refusing only after expansion, as ``check_rendered`` does, would build every
job dict of the product first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jenkins_jobs.root_base
import pytest

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.jjb import pipeline
from jjb_envdelivery.jjb.limits import LimitError, Limits


def _values(count: int) -> str:
    return "[" + ", ".join(map(str, range(count))) + "]"


# 3 axes x 200 values: 8,000 000 jobs from a file of a few KiB.
HOSTILE = f"""\
- project:
    name: identity-wide
    a: {_values(200)}
    b: {_values(200)}
    c: {_values(200)}
    jobs:
      - identity-group
- job-group:
    name: identity-group
    jobs:
      - 'identity/wide-{{a}}-{{b}}-{{c}}'
- job-template:
    name: 'identity/wide-{{a}}-{{b}}-{{c}}'
"""


@pytest.fixture
def no_expansion(monkeypatch):
    """JJB's enumeration of points fails for the hostile projects (named here) and works for the others."""
    enumerate_points = jenkins_jobs.root_base.enum_dimensions_params

    def guarded(axes, params, defaults):
        if params.get("name") in {"identity-wide", "p"}:
            raise AssertionError("JJB enumerated a template's axes before the cap refused them")
        return enumerate_points(axes, params, defaults)
    monkeypatch.setattr(jenkins_jobs.root_base, "enum_dimensions_params", guarded)


def _render_team(tmp_path: Path, text: str, limits: Limits | None = None):
    team = tmp_path / "team"
    team.mkdir()
    (team / "jobs.yaml").write_text(text)
    config = pipeline.make_jjb_config()
    return pipeline.generate_xml(config, [team / "jobs.yaml"], allowed_roots=[team], processes=1, limits=limits)


def test_three_wide_axes_are_refused_before_expansion(tmp_path, no_expansion):
    with pytest.raises(LimitError) as caught:
        _render_team(tmp_path, HOSTILE)
    assert str(caught.value) == (
        f"{tmp_path / 'team' / 'jobs.yaml'}:1: project 'identity-wide' expands job-template "
        "'identity/wide-{a}-{b}-{c}' via job-group 'identity-group' to 8000000 jobs, more than the limit jobs "
        "(2000) of a team scope")


def test_templates_within_the_limit_each_are_refused_together(tmp_path, no_expansion):
    text = (f"- project:\n    name: p\n    i: {_values(30)}\n    j: {_values(30)}\n"
            "    jobs: ['p-{i}-{j}', 'q-{i}-{j}']\n"
            "- job-template:\n    name: 'p-{i}-{j}'\n- job-template:\n    name: 'q-{i}-{j}'\n")
    with pytest.raises(LimitError, match=r"project 'p' expands job-template 'q-\{i\}-\{j\}' to 900 jobs, bringing "
                                         r"the scope to at least 1800, more than the limit jobs \(1000\)"):
        _render_team(tmp_path, text, Limits(jobs=1000))


def test_axes_from_defaults_and_from_j2_yaml_count(tmp_path, no_expansion):
    # One axis from the global defaults, one rendered by !j2-yaml: from the project.
    text = (f"- defaults:\n    name: global\n    i: {_values(50)}\n"
            "- project:\n    name: p\n"
            "    j: !j2-yaml: \"{% for n in range(50) %}- {{ n }}\\n{% endfor %}\"\n"
            "    jobs: ['p-{i}-{j}']\n"
            "- job-template:\n    name: 'p-{i}-{j}'\n")
    with pytest.raises(LimitError, match=r"expands job-template 'p-\{i\}-\{j\}' to 2500 jobs, more than the limit"):
        _render_team(tmp_path, text)


def test_job_group_fan_out_is_bounded(tmp_path, no_expansion):
    # Ten listings per level, six levels: a million walks of groups that make no job at all.
    groups = ["- job-group:\n    name: g0\n    jobs: []\n"]
    groups += [f"- job-group:\n    name: g{n}\n    jobs: [{', '.join([f'g{n - 1}'] * 10)}]\n" for n in range(1, 7)]
    text = "- project:\n    name: p\n    jobs: [g6]\n" + "".join(groups)
    with pytest.raises(LimitError, match=r"project 'p' lists job-templates and job-groups more than 20000 times"):
        _render_team(tmp_path, text)


def test_refused_through_the_cli_in_one_line(example_org_dir, tmp_path, capsys, no_expansion):
    org = Path(shutil.copytree(example_org_dir, tmp_path / "org"))
    hostile = org / "teams/identity/jenkins/hostile.yaml"
    hostile.write_text(HOSTILE)
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["render", str(org), "-o", str(out), "--processes", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("jjb-envdelivery: error: scope identity: ")
    assert f"{hostile}:1: project 'identity-wide' expands job-template" in err and "to 8000000 jobs" in err
    assert not out.exists()


def test_aliases_nesting_deeper_than_the_limit_are_refused(tmp_path):
    # The model's bounded composer: an alias chain is shallow as written, deep as read.
    chain = "".join(f"      - &a{n} [*a{n - 1}]\n" for n in range(1, 100))
    text = "- job:\n    name: j\n    notes:\n      - &a0 [x]\n" + chain
    with pytest.raises(LimitError, match=r"jobs\.yaml:\d+:\d+: nesting deeper than the limit nesting-depth \(64\)"):
        _render_team(tmp_path, text)
