"""Bounded work for team scopes (``jjb.limits``): each hostile input stops with a clear error.

The hostile documents run through the real command line in a subprocess with a wall-clock
timeout and an address-space limit, so a regression shows as a failed test, not a hung or
swapped-out test run. Team identity of the example organisation holds the hostile YAML.
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jenkins_jobs.errors import JenkinsJobsException

from jjb_envdelivery.jjb import pipeline
from jjb_envdelivery.jjb.limits import LimitError, Limits

REPO_ROOT = Path(__file__).resolve().parents[2]
MEMORY_CAP = 2 << 30  # bytes of address space for the child
TIME_CAP = 30  # seconds


def _billion_laughs() -> str:
    lines = ["- project:", "    name: identity-laughs", "    a: &a [" + ", ".join(['"lol"'] * 10) + "]"]
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"    {name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
        previous = name
    lines += ["    jobs:", "      - '{name}-{i}'"]  # the 10**9-element list as a template axis
    return "\n".join(lines) + "\n"


J2_JOB = "- job:\n    name: identity/j2\n    builders:\n      - shell: !j2: \"{body}\"\n"

# case: (hostile.yaml, other files in the jobs directory, the error's location, words of the error)
HOSTILE = {
    "billion laughs": (_billion_laughs(), {}, "hostile.yaml:9:", "limit yaml-expanded-size"),
    "recursive alias": ("- job:\n    name: identity/r\n    description: &r [*r]\n", {}, "hostile.yaml:3:",
                        "an alias refers to a node that contains it"),
    "deep nesting": ("- job:\n    name: identity/deep\n    description: " + "[" * 5000 + "]" * 5000 + "\n", {},
                     "hostile.yaml:3:", "limit nesting-depth (64)"),
    "huge file": ("#" + "x" * (1 << 21) + "\n", {}, "hostile.yaml:", "limit yaml-bytes (1048576)"),
    "huge included file": ("- job:\n    name: identity/big\n    description: !include-raw-verbatim: big.txt\n",
                           {"big.txt": "x" * (1 << 21)}, "hostile.yaml:3:", "limit yaml-bytes"),
    "self-including file": ("- job:\n    name: identity/loop\n    description: !include: loop.inc\n",
                            {"loop.inc": "!include: loop.inc\n"}, "loop.inc:", "include-depth (16)"),
    "self-including template": ("- job:\n    name: identity/loop\n    builders:\n"
                                "      - shell: !include-jinja2: loop.j2\n",
                                {"loop.j2": "{% include 'loop.j2' %}"}, "loop.j2:1:", "recursed too deeply"),
    "recursive jinja2 macro": (J2_JOB.format(body="{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}"), {},
                               "hostile.yaml:4:", "recursed too deeply"),
    "jinja2 output": (J2_JOB.format(body="{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}"), {},
                      "hostile.yaml:4:", "limit jinja2-output-bytes (1048576)"),
    "recursive builder macro": ("- builder:\n    name: loop\n    builders: [loop]\n"
                                "- job:\n    name: identity/m\n    builders: [loop]\n", {},
                                "identity/jenkins", "recursed too deeply; does a macro or job-template use itself?"),
    "too many jobs": ("- project:\n    name: identity-many\n    i: [" + ", ".join(map(str, range(2001))) + "]\n"
                      "    jobs:\n      - 'identity/many-{i}'\n- job-template:\n    name: 'identity/many-{i}'\n",
                      {}, "scope identity", "jobs, more than the limit jobs (2000)"),
    "huge config.xml": ("- job:\n    name: identity/fat\n    description: " + "x" * 300_000 + "\n", {},
                        "job 'identity/fat'", "limit config-bytes (262144)"),
}
SLOW = {"too many jobs"}


def _capped():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def render_org(org: Path, out: Path, timeout: float = TIME_CAP) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jjb_envdelivery.cli.main", "render", str(org), "-o", str(out),
                           "--processes", "1"],
                          capture_output=True, text=True, timeout=timeout, preexec_fn=_capped, cwd=org.parent)


@pytest.fixture
def org(example_org_dir, tmp_path) -> Path:
    return Path(shutil.copytree(example_org_dir, tmp_path / "org"))


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow if c in SLOW else ())
                                  for c in sorted(HOSTILE)])
def test_hostile_work_is_refused_with_one_clear_line(case, org, tmp_path):
    text, others, where, expected = HOSTILE[case]
    jobs = org / "teams/identity/jenkins"
    (jobs / "hostile.yaml").write_text(text)
    for name, content in others.items():
        (jobs / name).write_text(content)
    out = tmp_path / "out"
    result = render_org(org, out)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "MemoryError" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert where in last and expected in last, result.stderr[-2000:]
    assert not out.exists()  # nothing written on an error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["org"]


def test_the_example_organisation_is_within_the_limits(org, tmp_path):
    result = render_org(org, tmp_path / "out")
    assert result.returncode == 0, result.stderr


def _team(tmp_path: Path, text: str) -> Path:
    team = tmp_path / "team"
    team.mkdir()
    (team / "jobs.yaml").write_text(text)
    return team


def _render_team(team: Path, limits: Limits | None = None):
    config = pipeline.make_jjb_config()
    return pipeline.generate_xml(config, [team / "jobs.yaml"], allowed_roots=[team], processes=1, limits=limits)


def test_a_silent_endless_jinja2_loop_stops_at_the_time_limit(tmp_path):
    # Nested loops that print nothing: only the clock can stop them (sandbox range() allows 100000 each).
    body = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    team = _team(tmp_path, J2_JOB.format(body=body))
    started = time.monotonic()
    with pytest.raises(JenkinsJobsException) as error:  # JJB adds the job's context around the LimitError
        _render_team(team, Limits(jinja2_seconds=0.3))
    assert time.monotonic() - started < 5
    assert re.search(r"jobs\.yaml:4:\d+: !j2: rendering ran longer than the limit jinja2-seconds \(0\.3\)",
                     pipeline.describe_error(error.value).splitlines()[-1])


def test_each_limit_is_a_bound_not_a_ban(tmp_path):
    team = _team(tmp_path, "- project:\n    name: p\n    i: [1, 2, 3]\n    jobs: ['p-{i}']\n"
                           "- job-template:\n    name: 'p-{i}'\n    notes: [[a]]\n")
    assert len(_render_team(team, Limits(jobs=3)).jobs) == 3
    with pytest.raises(LimitError, match=r"3 jobs, more than the limit jobs \(2\)"):
        _render_team(team, Limits(jobs=2))
    with pytest.raises(LimitError, match=r"jobs\.yaml:7:\d+: nesting deeper than the limit nesting-depth \(5\)"):
        _render_team(team, Limits(nesting_depth=5))


def test_the_root_scope_is_not_limited(tmp_path):
    # Trusted YAML (no allowed_roots) loads as JJB loads it, whatever the team limits say.
    team = _team(tmp_path, "- job:\n    name: deep\n    notes: " + "[" * 100 + "]" * 100 + "\n")
    config = pipeline.make_jjb_config()
    assert len(pipeline.generate_xml(config, [team / "jobs.yaml"], processes=1).jobs) == 1
    with pytest.raises(LimitError):
        _render_team(team)
