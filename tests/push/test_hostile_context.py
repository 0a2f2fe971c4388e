"""A team cannot change what the root baked into its updater, nor move its confinement root with a
symlink (issue 14): `update` of the compute scope, as its child updater runs it (no org file, the
baked command line, JOBS_PATH relative to the workspace) and with the org file, exits 1 with the
file and line, and the server sees no write."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jjb_envdelivery.cli.main import main

SECRET = "hunter2-do-not-leak"
# What delivery/updater-compute runs (README, "delivery/updater-<project>"), from its workspace.
CHILD = ["--namespace", "folder:compute", "--release", "current=release/2026.11", "--release",
         "previous=release/2026.10", "--release", "upcoming=main", "--root-folder", "delivery", "ci/jobs"]


@pytest.fixture
def pushed(emu, conf, example_org_dir, tmp_path, capsys) -> Path:
    """The example organisation's root scope is on the server."""
    org = Path(shutil.copytree(example_org_dir, tmp_path / "org"))
    assert main(["update", "--scope", "root", "--org-file", str(org / "delivery.yaml"), "--conf", str(conf),
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    capsys.readouterr()
    return org


def update_compute(org: Path, conf: Path, tmp_path: Path, capsys, monkeypatch, child: bool) -> tuple[int, str]:
    monkeypatch.chdir(org / "teams/compute")  # the updater's workspace: the team's checkout
    source = CHILD if child else ["--org-file", str(org / "delivery.yaml")]
    code = main(["update", "--scope", "compute", *source, "--conf", str(conf), "--cache-dir", str(tmp_path / "cache")])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("child", [True, False], ids=["child updater", "with the org file"])
def test_a_redefined_context_is_refused_without_writes(child, emu, conf, pushed, tmp_path, capsys, monkeypatch):
    evil = pushed / "teams/compute/ci/jobs/evil.yaml"
    evil.write_text("- defaults:\n    name: envdelivery\n    job-prefix: 'compute/'\n    release:\n"
                    "      - current:\n          branch: team-owned\n")
    emu.clear_log()
    code, output = update_compute(pushed, conf, tmp_path, capsys, monkeypatch, child)
    assert code == 1
    assert f"scope compute: {evil}:1:3: defaults 'envdelivery' is baked by the root scope" in output
    assert "Traceback" not in output
    assert [r for r in emu.request_log if r.write] == []


@pytest.mark.parametrize("child", [True, False], ids=["child updater", "with the org file"])
def test_a_symlinked_jobs_directory_is_refused_without_writes(child, emu, conf, pushed, tmp_path, capsys,
                                                              monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text(SECRET)
    (elsewhere / "leak.yaml").write_text("- job:\n    name: compute/leak\n    disabled: false\n    builders:\n"
                                         "      - shell: !include-raw-verbatim: secret.txt\n")
    jobs = pushed / "teams/compute/ci/jobs"
    shutil.rmtree(jobs)
    jobs.symlink_to(elsewhere, target_is_directory=True)
    emu.clear_log()
    code, output = update_compute(pushed, conf, tmp_path, capsys, monkeypatch, child)
    assert code == 1
    assert f"leads to {elsewhere}, outside the team's checkout {pushed / 'teams/compute'}" in output
    assert "Traceback" not in output and SECRET not in output
    assert [r for r in emu.request_log if r.write] == []
    assert not any(SECRET in emu.job_config(name) for name in emu.jobs())
