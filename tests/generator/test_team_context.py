"""The teams' context from a child updater's command line (it has no org file): the build
timeout and the copiers the root scope baked in reach the ``envdelivery`` defaults the shipped
templates read, and a wrong value is a clear error, not a traceback."""

from __future__ import annotations

import pytest
import yaml

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.errors import EnvDeliveryError
from jjb_envdelivery.scopes import project_scope_from_args


@pytest.fixture
def jobs_dir(tmp_path):
    path = tmp_path / "jobs"
    path.mkdir()
    (path / "jobs.yaml").write_text("- job:\n    name: payments/x\n    builders: [{shell: 'true'}]\n")
    return path


def context_of(scope) -> dict:
    (entry,) = yaml.safe_load(scope.yaml_paths[0].read_text())
    return entry["defaults"]


def test_the_baked_timeout_and_copiers_reach_the_context(jobs_dir, tmp_path):
    scope = project_scope_from_args("payments", "folder:payments", ["current=main"], "delivery", jobs_dir, tmp_path,
                                    build_timeout=90)
    context = context_of(scope)
    assert context["build-timeout"] == 90
    assert context["envdelivery-copiers"] == "/delivery/*"
    # An old child updater job, whose command has no --build-timeout yet, gets the default.
    scope = project_scope_from_args("payments", "folder:payments", ["current=main"], "delivery", jobs_dir, tmp_path)
    assert context_of(scope)["build-timeout"] == 60


@pytest.mark.parametrize("minutes", [2, 0, -1, True])
def test_a_timeout_below_three_minutes_is_refused(jobs_dir, tmp_path, minutes):
    with pytest.raises(EnvDeliveryError, match=rf"--build-timeout {minutes!r}: expected whole minutes, at least 3 "
                                               r"\(the build-timeout plugin raises shorter timeouts to 3\)"):
        project_scope_from_args("payments", "folder:payments", ["current=main"], "delivery", jobs_dir, tmp_path,
                                build_timeout=minutes)


@pytest.mark.parametrize("scope_args, message", [
    (["--scope", "payments", "--namespace", "folder:payments", "--release", "current=main", "--root-folder",
      "delivery", "--build-timeout", "2", "JOBS"], "--build-timeout 2: expected whole minutes, at least 3"),
    (["--scope", "root", "--org-file", "ORG", "--build-timeout", "30"],
     "the root scope takes --org-file only, not --namespace/--release/--build-timeout/--allow-*/--limit/JOBS_PATH"),
    (["--scope", "platform", "--org-file", "ORG", "--build-timeout", "30"],
     "scope platform: --build-timeout goes with --namespace (a child updater's command); with --org-file the org "
     "file's build-timeout applies"),
])
def test_the_update_command_says_what_is_wrong(jobs_dir, tmp_path, example_org_dir, capsys, scope_args, message):
    conf = tmp_path / "jenkins_jobs.ini"
    conf.write_text("[jenkins]\nurl=http://127.0.0.1:9/\nuser=u\npassword=p\n")
    argv = [str(jobs_dir) if a == "JOBS" else str(example_org_dir / "delivery.yaml") if a == "ORG" else a
            for a in scope_args]
    assert main(["update", *argv, "--conf", str(conf)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
