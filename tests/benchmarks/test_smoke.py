"""The benchmark scripts run end to end on a tiny organisation (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
TINY = ["--services", "1", "--repeat", "1"]


def run(script: str, *args: str, tmp_path: Path) -> str:
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), *args, "--workdir", str(tmp_path / "work")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_synth_org_is_a_valid_organisation(tmp_path):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import synth_org
    finally:
        sys.path.remove(str(BENCHMARKS))
    from jjb_envdelivery.model.loader import load_organisation

    org = load_organisation(synth_org.write_org(tmp_path / "org", 400))
    assert len(org.projects) == 4
    assert sum(len(p.services) for p in org.projects) == 40
    assert {p.namespace.kind for p in org.projects} == {"folder"}
    org = load_organisation(synth_org.write_org(tmp_path / "org", 1200))
    assert {p.namespace.kind for p in org.projects} == {"folder", "prefix"}
    before = (tmp_path / "org/teams/team000/jenkins/services-0.yaml").read_text()
    synth_org.touch_team(tmp_path / "org", 0, 1)
    synth_org.touch_team(tmp_path / "org", 0, 2)
    after = (tmp_path / "org/teams/team000/jenkins/services-0.yaml").read_text()
    assert after != before and "echo gen2" in after and "echo gen1" not in after
    load_organisation(tmp_path / "org")


@pytest.mark.slow  # the render benchmark end to end (jenkins-jobs test and our render, timed)
def test_bench_render_runs(tmp_path):
    out = run("bench_render.py", "--sizes", "60", *TINY, tmp_path=tmp_path)
    assert "outputs byte-identical in every pair" in out
    assert "median ratio jenkins-jobs test / render" in out


@pytest.mark.slow  # each push benchmark end to end against an emulator
@pytest.mark.parametrize("script", ["bench_push.py", "bench_incremental.py"])
def test_push_benchmarks_run(script, tmp_path):
    out = run(script, "--size", "60", "--latency", "0.001", *TINY, tmp_path=tmp_path)
    assert "median ratio" in out


@pytest.mark.slow  # two renders of the example organisation, timed
def test_bench_versions_runs_against_an_installation():
    """This checkout against itself: the script runs, checks the bytes and prints the ratio."""
    other = Path(sys.executable).with_name("jjb-envdelivery")
    result = subprocess.run([sys.executable, str(BENCHMARKS / "bench_versions.py"), "--other", str(other),
                             "--repeat", "1", "--fast", "0"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "example organisation (400 jobs) (this checkout: JJB_ENVDELIVERY_FAST=0)" in result.stdout
    assert "median ratio this / other" in result.stdout


def test_bench_versions_refuses_a_missing_installation(tmp_path):
    result = subprocess.run([sys.executable, str(BENCHMARKS / "bench_versions.py"), "--other",
                             str(tmp_path / "nothing")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not an executable" in result.stderr


def test_bench_policy_runs(tmp_path):
    out = run("bench_policy.py", "--size", "60", *TINY, tmp_path=tmp_path)
    assert "median ratio with / without the policy" in out


@pytest.mark.slow  # the container benchmark end to end on the real engine (no timing is asserted)
def test_bench_containers_runs(tmp_path, base_image, require_commands):
    require_commands("podman-compose")
    out = run("bench_containers.py", "--services", "2", "--repeat", "1", tmp_path=tmp_path)
    assert "2 services (median of 1):" in out
    assert "save (in process):" in out
    assert "median ratio deploy / podman-compose up:" in out
    assert "clean-up: nothing left behind" in out

