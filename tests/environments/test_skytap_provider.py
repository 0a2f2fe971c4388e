"""The skytap provider against the Skytap API emulator: the whole lifecycle, also through storms of
423/429/busy-422 refusals, Retry-After, pagination, 409 and credentials."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.environments.skytap import TEMPLATE_MARK, SkytapProvider

LINE = ("--variant", "minimal", "--release", "current")
REMOTE_TOOL = "envtool provision-remote --config {config} --artifacts {artifacts} --target {target}"


@pytest.fixture(scope="module")
def skytap_module():
    spec = importlib.util.spec_from_file_location("envtests_skytap_emulator",
                                                  Path(__file__).with_name("skytap_emulator.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _settings(emu, **extra) -> dict:
    base = next(t["id"] for t in emu.templates.values() if t["name"] == "base")
    return {"url": emu.url, "base-template": base, "poll-interval": 0, "retry-delay": 0, "wait-timeout": 30,
            "retry-timeout": 30, **extra}


@pytest.fixture
def skytap_ws(make_workspace, monkeypatch):
    monkeypatch.setenv("SKYTAP_USER", "ci")
    monkeypatch.setenv("SKYTAP_TOKEN", "tok-123")

    def make(emu, name="ws", **extra):
        ws = make_workspace({"name": "skytap", "credential-id": "skytap-api", "settings": _settings(emu, **extra)},
                            name=name)
        org_file = ws / "delivery.yaml"
        data = yaml.safe_load(org_file.read_text())
        data["environments"]["provisioning-tool"]["command"] = REMOTE_TOOL
        org_file.write_text(yaml.safe_dump(data, sort_keys=False))
        return ws
    return make


def _ours(emu) -> dict:
    return {t["id"]: json.loads(t["description"][len(TEMPLATE_MARK):]) for t in emu.templates.values()
            if t["description"].startswith(TEMPLATE_MARK)}


# The fault storm repeats the whole lifecycle through retries: the slow lane's.
@pytest.mark.parametrize("storm_rate, seed", [(0.0, 1), pytest.param(0.35, 7, marks=pytest.mark.slow)])
def test_lifecycle(skytap_module, skytap_ws, cli, capsys, storm_rate, seed):
    with skytap_module.SkytapEmulator(storm_rate=storm_rate, seed=seed, busy_polls=3) as emu:
        skytap_ws(emu)
        emu.storm(6)
        for _ in range(3):
            assert cli("env", "build", *LINE) == 0
            assert cli("env", "verify", "--latest", *LINE) == 0
        meta = _ours(emu)
        assert sorted((m["version"], m["status"]) for m in meta.values()) == [(1, "verified"), (2, "verified"),
                                                                              (3, "verified")]
        v1 = next(m for m in meta.values() if m["version"] == 1)
        assert v1["artifacts"]["auth-service"] == {"version": "2.0"}
        assert v1["artifacts"]["envtool"]["version"] == "1.0"
        assert emu.configurations == {}  # build and verify environments were deleted

        capsys.readouterr()
        assert cli("env", "deploy", *LINE) == 0
        out = capsys.readouterr().out
        (env_id,) = emu.configurations
        assert f"{emu.url}/configurations/{env_id}" in out
        assert emu.configurations[env_id]["runstate"] == "running"

        assert cli("env", "gc", *LINE, "--keep", "1") == 0
        out = capsys.readouterr().out
        assert "2 deleted, 1 kept" in out
        assert sorted(m["version"] for m in _ours(emu).values()) == [3]
        assert cli("env", "destroy", env_id) == 0
        assert emu.configurations == {}
        refused = emu.statuses(423) + emu.statuses(429) + emu.statuses(422)
        assert refused >= 6
        if storm_rate:
            assert refused > 6


def test_retry_after_is_honoured_and_capped(skytap_module, monkeypatch, tmp_path):
    monkeypatch.setenv("SKYTAP_USER", "ci")
    monkeypatch.setenv("SKYTAP_TOKEN", "tok-123")
    with skytap_module.SkytapEmulator(retry_after="7") as emu:
        provider = SkytapProvider(_settings(emu, **{"max-retry-delay": 30}), tmp_path)
        pauses = []
        provider.sleep = pauses.append
        tid = next(iter(emu.templates))
        emu.storm(3, "429")
        provider.request("PUT", f"/templates/{tid}", {"name": "renamed"})
        assert pauses == [7.0, 7.0, 7.0] and emu.templates[tid]["name"] == "renamed"
        emu.retry_after = "90"
        emu.storm(1, "429")
        pauses.clear()
        provider.request("PUT", f"/templates/{tid}", {"name": "again"})
        assert pauses == [30.0]


def test_refusals_stop_at_the_retry_timeout(skytap_module, monkeypatch, tmp_path):
    monkeypatch.setenv("SKYTAP_USER", "ci")
    monkeypatch.setenv("SKYTAP_TOKEN", "tok-123")
    with skytap_module.SkytapEmulator() as emu:
        provider = SkytapProvider(_settings(emu, **{"retry-timeout": 0}), tmp_path)
        emu.storm(1, "423")
        with pytest.raises(Exception, match="423"):
            provider.request("PUT", f"/templates/{next(iter(emu.templates))}", {"name": "x"})


def test_pagination(skytap_module, monkeypatch, tmp_path):
    monkeypatch.setenv("SKYTAP_USER", "ci")
    monkeypatch.setenv("SKYTAP_TOKEN", "tok-123")
    with skytap_module.SkytapEmulator() as emu:
        for version in range(1, 6):
            tid = emu.add_template(f"envdelivery-minimal-current-v{version}")
            emu.templates[tid]["description"] = TEMPLATE_MARK + json.dumps(
                {"variant": "minimal", "release": "current", "version": version, "status": "verified"})
        emu.add_template("someone-elses")
        provider = SkytapProvider(_settings(emu, **{"page-size": 2}), tmp_path)
        assert sorted(t.version for t in provider.list_templates()) == [1, 2, 3, 4, 5]
        assert sum(1 for m, p, _ in emu.log if m == "GET" and p == "/v2/templates") == 3


def test_conflict_and_credentials(skytap_module, skytap_ws, cli, capsys, monkeypatch):
    with skytap_module.SkytapEmulator() as emu:
        skytap_ws(emu)
        assert cli("env", "build", *LINE) == 0
        (tid,) = _ours(emu)
        emu.conflict_next = True
        capsys.readouterr()
        assert cli("env", "pin", tid) == 1
        assert "409" in capsys.readouterr().err
        assert cli("env", "pin", "424242") == 1
        assert "no template '424242'" in capsys.readouterr().err

        monkeypatch.setenv("SKYTAP_TOKEN", "wrong-token")
        assert cli("env", "list") == 1
        err = capsys.readouterr().err
        assert "401 unauthorized" in err and "wrong-token" not in err
        monkeypatch.delenv("SKYTAP_TOKEN")
        assert cli("env", "list") == 1
        assert "set the environment variables SKYTAP_USER and SKYTAP_TOKEN" in capsys.readouterr().err

        skytap_ws(emu, name="ws2", token="tok-123")
        assert cli("env", "list") == 1
        assert "credentials never go in the org file" in capsys.readouterr().err
