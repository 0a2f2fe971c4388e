"""`jjb-envdelivery plan`: exit codes like `terraform plan -detailed-exitcode`, diffs by meaning,
the last applied configuration when the server is down, and a plan that matches what the
following update does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.push.diff import config_diff, normalise


@pytest.fixture
def cli(conf, small, tmp_path, capsys):
    def run(command: str, scope: str, *extra: str, conf_path: Path | None = None) -> tuple[int, str]:
        code = main([command, "--scope", scope, "--org-file", str(small / "delivery.yaml"),
                     "--conf", str(conf_path or conf), "--cache-dir", str(tmp_path / "cache"), *extra])
        return code, capsys.readouterr().out

    return run


def writes(emu):
    return [r for r in emu.request_log if r.write]


def test_plan_writes_nothing_and_exit_codes(emu, cli):
    assert cli("update", "root")[0] == 0
    emu.clear_log()
    code, out = cli("plan", "payments")
    assert code == 2
    assert "  create  job payments/billing-current-lint" in out
    assert "6 to create, 0 to change, 0 to delete, 0 unchanged" in out
    assert writes(emu) == []
    assert cli("update", "payments")[0] == 0
    code, out = cli("plan", "payments")
    assert code == 0 and "0 to create, 0 to change, 0 to delete, 6 unchanged" in out


def test_plan_shows_a_diff_and_matches_the_following_update(emu, cli, small):
    cli("update", "root")
    cli("update", "payments")
    jobs = small / "teams/payments/jenkins/jobs.yaml"
    jobs.write_text(jobs.read_text().replace("make test", "make check")
                    .replace("{release}-lint'", "{release}-lint'\n    concurrent: true"), encoding="utf-8")
    (small / "teams/payments/jenkins/more.yaml").write_text("- job:\n    name: payments/extra\n    disabled: false\n")
    code, out = cli("plan", "payments", "--json")
    assert code == 2
    plan = json.loads(out)
    assert plan["compared_with"] == "server"
    actions = {(a["action"], a["name"]) for a in plan["actions"] if a["action"] != "unchanged"}
    assert actions == {("change", "payments/billing-current-lint"), ("change", "payments/billing-upcoming-lint"),
                       ("create", "payments/extra")}
    diff = next(a["diff"] for a in plan["actions"] if a["name"] == "payments/billing-current-lint")
    assert "-      <command>make test</command>" in diff and "+      <command>make check</command>" in diff
    assert "-  <concurrentBuild>false</concurrentBuild>" in diff
    assert "+  <concurrentBuild>true</concurrentBuild>" in diff

    code, out = cli("update", "payments", "--json")
    report = json.loads(out)
    done = {("create", n) for n in report["done"]["create"]} | {("change", n) for n in report["done"]["change"]}
    assert done == actions


def test_plan_without_the_server_uses_the_last_applied_configuration(emu, cli, small, conf):
    cli("update", "root")
    cli("update", "payments")
    jobs = small / "teams/payments/jenkins/jobs.yaml"
    jobs.write_text(jobs.read_text().replace("make test", "make check"), encoding="utf-8")
    conf.write_text(conf.read_text() + "timeout=2\n")
    emu.stop()
    code, out = cli("plan", "payments")
    assert code == 2
    assert "compared with the last applied configuration" in out
    assert "+      <command>make check</command>" in out


def test_refusal_exits_1(emu, cli, small):
    cli("update", "root")
    (small / "teams/payments/jenkins/bad.yaml").write_text(
        "- job:\n    name: payments/x\n    disabled: false\n    description: '<!-- jjb-envdelivery owner: root -->'\n")
    code, _ = cli("plan", "payments")
    assert code == 1


def test_jenkins_reserialisation_compares_equal(emu, rest):
    jjb_output = ('<?xml version="1.0" encoding="utf-8"?>\n<project>\n  <actions/>\n  <description>d</description>\n'
                  '  <scm class="hudson.scm.NullSCM"/>\n  <builders>\n    <hudson.tasks.Shell>\n'
                  '      <command>echo "hi" &amp;&amp; true</command>\n    </hudson.tasks.Shell>\n  </builders>\n'
                  '</project>\n')
    rest.post(f"{emu.url}createItem?name=j", data=jjb_output, headers={"Content-Type": "text/xml"}).raise_for_status()
    stored = emu.job_config("j")
    assert stored != jjb_output  # re-serialised: declaration, escaping
    assert config_diff(stored, jjb_output, "j") == ""


def test_normalisation_drops_only_what_jenkins_adds():
    assert normalise('<a plugin="git@4.0"><b/><c class="x"/><d>1</d><e k="v"/></a>') == [
        "<a>", '  <d>1</d>', '  <e k="v"/>', "</a>"]
    assert config_diff("<a><d>1</d></a>", "<a><d>2</d></a>", "j").splitlines()[-3:] == [
        "-  <d>1</d>", "+  <d>2</d>", " </a>"]


@pytest.mark.parametrize("status", ["403", "500"])
def test_plan_survives_an_unreadable_config(emu, cli, small, status, capsys):
    """A change whose current config.xml cannot be read is still planned (the decision comes
    from the listing and the cache), with the reason where the diff would be; no traceback."""
    from jjb_envdelivery.testing.emulator_faults import Fault

    cli("update", "root")
    cli("update", "payments")
    jobs = small / "teams/payments/jenkins/jobs.yaml"
    jobs.write_text(jobs.read_text().replace("make test", "make check"), encoding="utf-8")
    emu.faults.faults.append(Fault(status, rate=1.0, pattern="GET /job/payments/job/*/config.xml"))
    code, out = cli("plan", "payments")
    assert code == 2, out
    assert "  change  job payments/billing-current-lint" in out
    assert ("(no diff: could not read its current configuration: "
            f"GET job/payments/job/billing-current-lint/config.xml: {status}") in out
    code, out = cli("plan", "payments", "--json")
    changed = [a for a in json.loads(out)["actions"] if a["action"] == "change"]
    assert changed and all("diff" not in a and status in a["diff_error"] for a in changed)
    assert "Traceback" not in capsys.readouterr().err
