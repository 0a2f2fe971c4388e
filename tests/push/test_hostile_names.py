"""Hostile job names from team YAML (issue 14, "Safe names before any write"): every name Jenkins
would refuse or change, or that leaves the team's namespace or the output directory, is refused
by `render`, `plan` and `update` alike with one line naming the file:line and the job; nothing is
written, on disk or to the server. compute has the folder namespace `compute`, portal the name
prefix `portal-` (examples/example-org/delivery.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jjb_envdelivery.cli.main import main

TEAM_FILES = {"compute": "teams/compute/ci/jobs/hostile.yaml", "portal": "teams/portal/jenkins/hostile.yaml"}

# (team, the name as written in double-quoted YAML, what the error says). Jenkins's messages are
# Jenkins.checkGoodName's (core Jenkins.java:4268-4293); see tests/test_jenkins_names.py.
HOSTILE = {
    "folder: .. into another team": ("compute", "compute/../identity/vm-scheduler-current-ci",
                                     "segment '..': “..” is not an allowed name"),
    "folder: .. out of the output directory": ("compute", "compute/../../../escaped", "“..” is not an allowed name"),
    "folder: a dot segment": ("compute", "compute/./vm-scheduler-current-ci", "“.” is not an allowed name"),
    "folder: trailing dot": ("compute", "compute/job.", "A name cannot end with ‘.’"),
    "folder: trailing slash": ("compute", "compute/job/", "empty path segment"),
    "folder: leading space": ("compute", "compute/ job", "which Jenkins trims off (it would be 'job')"),
    "folder: question mark": ("compute", "compute/job?x=1", "‘?’ is an unsafe character"),
    "folder: NUL": ("compute", "compute/a\\0b", "No control code is allowed: a\\u0;b"),
    "folder: escape": ("compute", "compute/a\\eb", "No control code is allowed: a\\u27;b"),
    "folder: same name but for case": ("compute", "compute/VM-SCHEDULER-current-ci", "differ only in case"),
    "prefix: .. out of the output directory": ("portal", "portal-x/../../escaped", "“..” is not an allowed name"),
    "prefix: a folder under the prefix": ("portal", "portal-x/job", "is outside the scope's namespace"),
    "prefix: trailing dot": ("portal", "portal-x.", "A name cannot end with ‘.’"),
    "prefix: leading space": ("portal", " portal-x", "which Jenkins trims off (it would be 'portal-x')"),
    "prefix: same name but for case": ("portal", "portal-Web-UI-current-ci", "differ only in case"),
    "prefix: not the prefix": ("portal", "portalx-job", "every name must start with 'portal-'"),
}

# Each render is of the whole example organisation (~1.5 s): a few cases run in the quick lane, the
# rest are marked slow; tests/test_jenkins_names.py checks every rule quickly, below the commands.
RENDER_QUICK = {"folder: .. into another team", "prefix: .. out of the output directory", "folder: NUL"}
PUSH_QUICK = {"prefix: leading space"}


def _cases(quick: set[str]) -> list:
    return [pytest.param(case, marks=() if case in quick else pytest.mark.slow) for case in sorted(HOSTILE)]


def _hostile_team(org: Path, case: str) -> tuple[str, str, str]:
    """Write the case's job into its team's repository; returns (scope, name, "file:line")."""
    team, written, _ = HOSTILE[case]
    path = org / TEAM_FILES[team]
    path.write_text(f'# {case}\n- job:\n    name: "{written}"\n    disabled: false\n')
    return team, written, f"{path}:2"


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def _refused(capsys, argv) -> str:
    capsys.readouterr()
    assert main([str(a) for a in argv]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("jjb-envdelivery: error: ") and "Traceback" not in captured.err
    assert captured.err.count("\n") == 1, captured.err  # one line
    return captured.err


@pytest.mark.parametrize("case", _cases(RENDER_QUICK))
def test_render_refuses_the_name_and_writes_nothing(case, org_copy, tmp_path, capsys):
    team, _, where = _hostile_team(org_copy, case)
    out = tmp_path / "out"
    before = _files(tmp_path)
    err = _refused(capsys, ["render", org_copy, "-o", out])
    assert f"scope {team}: " in err and where in err and "job '" in err
    assert HOSTILE[case][2] in err
    assert _files(tmp_path) == before  # no output directory, nothing outside it


def test_a_case_collision_names_both_jobs_and_their_files(org_copy, tmp_path, capsys):
    _, _, where = _hostile_team(org_copy, "folder: same name but for case")
    err = _refused(capsys, ["render", org_copy, "-o", tmp_path / "out"])
    assert "'compute/VM-SCHEDULER-current-ci'" in err and "'compute/vm-scheduler-current-ci'" in err
    assert where in err and f"{org_copy / 'teams/compute/ci/jobs/services.yaml'}:" in err


def test_names_differing_only_in_case_across_teams_are_left_to_the_graph_check(org_copy, tmp_path, capsys):
    """Two scopes can't write the same item (namespaces differ), so across scopes only the graph's
    case-insensitive duplicate check (graph/build.py) applies; within one scope the stage refuses."""
    (org_copy / TEAM_FILES["compute"]).write_text(
        '- job:\n    name: "compute/Identity-Probe"\n    disabled: false\n    node: compute-build\n'
        '- job:\n    name: "compute/other-probe"\n    disabled: false\n    node: compute-build\n')
    assert main(["render", str(org_copy), "-o", str(tmp_path / "out")]) == 0


@pytest.mark.parametrize("command", ["plan", "update"])
@pytest.mark.parametrize("case", _cases(PUSH_QUICK))
def test_plan_and_update_refuse_the_name_without_a_request_that_writes(command, case, emu, conf, org_copy,
                                                                       tmp_path, capsys):
    team, _, where = _hostile_team(org_copy, case)
    emu.clear_log()
    before = _files(tmp_path)
    err = _refused(capsys, [command, "--scope", team, "--org-file", org_copy / "delivery.yaml", "--conf", conf,
                            "--cache-dir", tmp_path / "cache"])
    assert where in err and "job '" in err and HOSTILE[case][2] in err
    assert [r for r in emu.request_log if r.write] == []
    assert {p for p in _files(tmp_path) - before if not p.is_relative_to(tmp_path / "cache")} == set()
