"""The README's main command: the example organisation pushed into the emulator, then the paper's
loop run by the job runner, from a commit to the provisioning tool to verified templates."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from jjb_envdelivery.cli.main import main

LINE = "current"
VARIANTS = ("minimal", "full", "almost-production")  # every variant has the current line


def test_demo_pushes_an_organisation_and_says_why_it_cannot_run_the_loop(capsys, summary, tmp_path,
                                                                         example_org_dir):
    """An organisation without the provisioning tool's source: pushed only, the loop skipped."""
    org = tmp_path / "org"
    shutil.copytree(example_org_dir, org, ignore=shutil.ignore_patterns("services", "__pycache__"))
    assert main(["demo", str(org), "--json"]) == 0
    captured = capsys.readouterr()
    err = captured.err
    assert re.search(r"^Jenkins REST emulator at http://127\.0\.0\.1:\d+/ ", err, re.M)
    rows = summary(err)
    nothing = {"changed": 0, "deleted": 0, "kept": 0, "refused": 0, "failed": 0}
    assert rows["bootstrap"] == {"created": 2, "unchanged": 0, **nothing}
    # The root folder and the root updater exist since the bootstrap; the rest is new.
    assert rows["root"] == {"created": 51, "unchanged": 2, **nothing}
    for project, services in (("platform", 6), ("identity", 6), ("compute", 7), ("network", 7), ("storage", 6),
                              ("portal", 8)):
        multibranch = services if project == "identity" else 0  # a -branches job per service
        assert rows[project] == {"created": services * 9 + multibranch, "unchanged": 0, **nothing}
    assert "407 jobs and folders and 12 views are stored" in err
    reason = f"the loop commits to the provisioning tool's source, and {org / 'services/envtool'} does not exist"
    assert f"No loop: {reason}. Pushed only." in err
    assert json.loads(captured.out) == {"builds": [], "templates": [], "ok": True, "no-loop": reason}


@pytest.mark.slow  # the whole loop: 12 builds, three environments of up to 40 hosts built and verified
def test_demo_pushes_the_example_organisation_and_runs_the_loop(capsys, require_commands):
    require_commands("git", "dpkg-deb")
    assert main(["demo", "--json"]) == 0
    captured = capsys.readouterr()
    err = captured.err
    assert "407 jobs and folders and 12 views are stored" in err
    result = json.loads(captured.out)  # stdout is the one JSON object
    builds = [(b["job"], b["number"], b["result"]) for b in result["builds"]]
    ci, package, deliver = ((f"platform/envtool-{LINE}-{stage}", 1, "SUCCESS")
                            for stage in ("ci", "package", "deliver"))
    assert builds[:2] == [ci, package]  # the package build starts deliver and every variant's build
    env_jobs = {(f"delivery/env-{v}-{LINE}-{stage}", 1, "SUCCESS") for v in VARIANTS
                for stage in ("build", "verify", "gc")}
    assert set(builds[2:]) == env_jobs | {deliver} and len(builds) == 12
    for variant in VARIANTS:  # each variant's verify ran after its build, gc after its verify
        order = [job for job, _, _ in builds if f"env-{variant}-" in job]
        assert [job.rsplit("-", 1)[1] for job in order] == ["build", "verify", "gc"]
    # The timeline: a line when each build starts and when it finishes, with its result.
    for job, number, outcome in builds:
        assert re.search(rf"started {re.escape(job)} #{number}\b", err)
        assert re.search(rf"finished {re.escape(job)} #{number}: {outcome} in \d", err)

    templates = result["templates"]
    assert {(t["variant"], t["release"], t["status"]) for t in templates} == {(v, LINE, "verified") for v in VARIANTS}
    assert all(t["id"] and t["envtool"] == result["committed-version"] == "1.1.0" for t in templates)
    assert result["ok"] is True


def test_demo_checks_its_prerequisites_first(capsys, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "dpkg-deb" else real_which(name))
    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert "jjb-envdelivery: error: demo: this machine lacks dpkg-deb (the package job builds a Debian package" in err
    assert "Jenkins REST emulator" not in err  # nothing started


def test_emulator_command_help(capsys):
    try:
        main(["emulator", "--help"])
    except SystemExit as exit:
        assert exit.code == 0
    assert "--state-dir" in capsys.readouterr().out
