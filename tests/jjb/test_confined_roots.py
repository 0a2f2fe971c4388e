"""Confinement roots are resolved once, from the real path of the team's checkout (issue 14): a
jobs directory or YAML file that is a symlink out of the checkout is refused, naming where it
leads; a non-UTF-8 file is refused naming the file and the byte. All through `render`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.errors import EnvDeliveryError
from jjb_envdelivery.scopes import project_scope_from_args

SECRET = "hunter2-do-not-leak"
LEAK = "- job:\n    name: compute/leak\n    disabled: false\n    builders:\n" \
       "      - shell: !include-raw-verbatim: secret.txt\n"


@pytest.fixture
def org(example_org_dir, tmp_path) -> Path:
    return Path(shutil.copytree(example_org_dir, tmp_path / "org"))


@pytest.fixture
def outside(tmp_path) -> Path:
    """A directory outside the repository, holding job YAML that includes a secret beside it."""
    place = tmp_path / "elsewhere"
    place.mkdir()
    (place / "secret.txt").write_text(SECRET)
    (place / "leak.yaml").write_text(LEAK)
    return place


def render(org: Path, out: Path, capsys) -> tuple[int, str]:
    code = main(["render", str(org), "-o", str(out)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def assert_refused(code: int, output: str, out: Path) -> None:
    assert code == 1
    assert "Traceback" not in output and SECRET not in output
    assert not out.exists()


def test_a_symlinked_jobs_directory_is_refused(org, outside, tmp_path, capsys):
    jobs = org / "teams/compute/ci/jobs"
    shutil.rmtree(jobs)
    jobs.symlink_to(outside, target_is_directory=True)
    code, output = render(org, tmp_path / "out", capsys)
    assert_refused(code, output, tmp_path / "out")
    assert output.strip() == (
        f"jjb-envdelivery: error: scope compute: job YAML directory {jobs} leads to {outside}, outside the "
        f"team's checkout {org / 'teams/compute'} (is it a symlink?)")


def test_a_jobs_directory_linked_inside_the_checkout_is_fine(org, tmp_path, capsys):
    # Only where the link leads matters: a layout that stays in the checkout renders as before.
    jobs = org / "teams/compute/ci/jobs"
    jobs.rename(org / "teams/compute/real-jobs")
    jobs.symlink_to(org / "teams/compute/real-jobs", target_is_directory=True)
    code, output = render(org, tmp_path / "out", capsys)
    assert code == 0, output
    assert (tmp_path / "out/compute/vm-scheduler-current-ci/config.xml").is_file()


def test_a_symlinked_yaml_file_is_refused(org, outside, tmp_path, capsys):
    link = org / "teams/compute/ci/jobs/leak.yaml"
    link.symlink_to(outside / "leak.yaml")
    code, output = render(org, tmp_path / "out", capsys)
    assert_refused(code, output, tmp_path / "out")
    assert f"scope compute: {outside / 'leak.yaml'}: found by listing a scope directory, but it is outside " \
           "the directories this scope may read" in output


def test_the_child_updaters_workspace_is_its_checkout(tmp_path, outside, monkeypatch):
    # A child updater gets JOBS_PATH relative to its workspace (the envdelivery-update builder
    # refuses an absolute one or '..'); the workspace is where it runs.
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "jenkins").symlink_to(outside, target_is_directory=True)
    monkeypatch.chdir(workspace)
    with pytest.raises(EnvDeliveryError, match=rf"^scope compute: job YAML directory jenkins leads to {outside}, "
                                               rf"outside the team's checkout {workspace} \(is it a symlink\?\)$"):
        project_scope_from_args("compute", "folder:compute", ["current=main"], "delivery", Path("jenkins"),
                                tmp_path)


@pytest.mark.parametrize("what", ["yaml", "include"])
def test_non_utf8_input_names_the_file_and_byte(what, org, tmp_path, capsys):
    jobs = org / "teams/compute/ci/jobs"
    if what == "yaml":
        bad = jobs / "bad.yaml"
        bad.write_bytes(b"- job:\n    name: compute/bad\n    description: 'caf\xe9'\n")
        expected = f"scope compute: {bad}: byte 50: not UTF-8 (invalid continuation byte)"
    else:
        bad = jobs / "bad.sh"
        bad.write_bytes(b"echo caf\xe9\n")
        (jobs / "bad.yaml").write_text("- job:\n    name: compute/bad\n    builders:\n"
                                       "      - shell: !include-raw-verbatim: bad.sh\n")
        expected = f"{jobs / 'bad.yaml'}:4:16: !include-raw-verbatim: 'bad.sh': {bad}: byte 8: not UTF-8"
    code, output = render(org, tmp_path / "out", capsys)
    assert code == 1 and "Traceback" not in output and not (tmp_path / "out").exists()
    assert expected in output
