"""The skytap provider against the Skytap API emulator: the whole lifecycle, also through storms of
423/429/busy-422 refusals, Retry-After, pagination, 409 and credentials."""

from __future__ import annotations

import json
import secrets
import string
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import yaml

from jjb_envdelivery.environments.catalog import Template, TemplateMeta
from jjb_envdelivery.environments.provider import EnvSpec, ProviderError
from jjb_envdelivery.environments.skytap import ENV_MARK, TEMPLATE_MARK, SkytapProvider, _decode_template

LINE = ("--variant", "minimal", "--release", "current")
REMOTE_TOOL = "envtool provision-remote --config {config} --artifacts {artifacts} --target {target}"


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
    return {t["id"]: _decode_template(t) for t in emu.templates.values() if t["description"].startswith(TEMPLATE_MARK)}


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
        # A 409 is retried, as Skytap's SDK does (reference §2.2: SDK-v2 client.go:310-311).
        emu.conflict_next = True
        assert cli("env", "pin", tid) == 0
        assert emu.statuses(409) == 1 and _ours(emu)[tid]["pinned"] is True
        # One that lasts past retry-timeout is an error naming it.
        skytap_ws(emu, name="ws-impatient", **{"retry-timeout": 0})
        emu.conflicts(1)
        capsys.readouterr()
        assert cli("env", "unpin", tid) == 1
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


# -- the request policy (reference §2.2-§2.4) -------------------------------------------------

@pytest.fixture
def provider_on(skytap_module, monkeypatch, tmp_path):
    """provider_on(emu, **settings) -> a SkytapProvider whose pauses are recorded, not taken."""
    monkeypatch.setenv("SKYTAP_USER", "ci")
    monkeypatch.setenv("SKYTAP_TOKEN", "tok-123")

    def make(emu, **extra):
        provider = SkytapProvider(_settings(emu, **extra), tmp_path)
        provider.pauses = []
        provider.sleep = provider.pauses.append
        return provider
    return make


def _base(emu) -> str:
    return next(t["id"] for t in emu.templates.values() if t["name"] == "base")


def _posts(emu, path: str) -> int:
    return sum(1 for method, p, _ in emu.log if method == "POST" and p == path)


def test_5xx_is_retried_on_idempotent_requests(skytap_module, provider_on):
    with skytap_module.SkytapEmulator() as emu:
        provider = provider_on(emu)
        tid = _base(emu)
        emu.server_errors(2, methods=("PUT",))
        emu.server_errors(1, methods=("GET",))
        provider.request("PUT", f"/templates/{tid}", {"name": "envdelivery-renamed"})
        assert provider.get_json(f"/v2/templates/{tid}")["name"] == "envdelivery-renamed"
        assert emu.statuses(500) == 3 and len(provider.pauses) == 3


@pytest.mark.parametrize("fault", ["500 refused", "500 applied", "connection dropped"])
def test_a_post_with_an_unknown_outcome_is_looked_up_before_it_is_sent_again(skytap_module, provider_on, fault):
    """§2.4 item 6: a create whose answer was lost is found by its unique name; one that did not
    happen is sent again. Either way exactly one environment exists."""
    with skytap_module.SkytapEmulator() as emu:
        provider = provider_on(emu)
        if fault == "500 refused":
            emu.server_errors(1, applied=False)
        elif fault == "500 applied":
            emu.server_errors(1, applied=True)
        else:
            emu.drops(1)
        env_id = provider._register_env(_base(emu), provider._unique_name("custom", "x"),
                                        {"variant": "custom", "release": "current", "purpose": "custom"}, False)
        assert list(emu.configurations) == [env_id]
        assert _posts(emu, "/configurations") == (2 if fault == "500 refused" else 1)


def test_409_is_retried_except_on_saving_a_template(skytap_module, provider_on):
    """SDK-v2 retries 409 (reference §2.2); a conflict on POST /templates may be permanent (§2.4
    item 1): no retry loop there."""
    with skytap_module.SkytapEmulator() as emu:
        provider = provider_on(emu)
        tid = _base(emu)
        emu.conflicts(2)
        provider.request("PUT", f"/templates/{tid}", {"name": "envdelivery-x"})
        assert emu.templates[tid]["name"] == "envdelivery-x" and len(provider.pauses) == 2
        provider.pauses.clear()
        env_id = provider._register_env(tid, "envdelivery-build-x", {"variant": "minimal",
                                        "release": "current", "purpose": "build"}, True)
        emu.conflicts(1)
        with pytest.raises(Exception, match="409"):
            provider.request("POST", "/templates", {"configuration_id": env_id, "name": "envdelivery-t"})
        assert _posts(emu, "/templates") == 1 and provider.pauses == []


def test_retry_after_as_an_http_date(skytap_module, provider_on):
    with skytap_module.SkytapEmulator() as emu:
        provider = provider_on(emu, **{"max-retry-delay": 60})
        emu.retry_after = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
        emu.storm(1, "429")
        provider.request("PUT", f"/templates/{_base(emu)}", {"name": "envdelivery-x"})
        (pause,) = provider.pauses
        assert 10 < pause <= 20  # the date, read as seconds from now (not retry-delay, which is 0)


def test_a_put_answered_200_but_not_applied_is_sent_again(skytap_module, provider_on):
    """§2.1: a busy resource may answer 200 without changing; the change is read back."""
    with skytap_module.SkytapEmulator() as emu:
        provider = provider_on(emu)
        tid = emu.add_template("envdelivery-minimal-current-v1", TEMPLATE_MARK + json.dumps(
            {"variant": "minimal", "release": "current", "version": 1, "status": "verified"}))
        emu.unapplied(2)
        provider.set_pinned(tid, True)
        assert _ours(emu)[tid]["pinned"] is True
        assert sum(1 for m, p, _ in emu.log if m == "PUT" and p == f"/templates/{tid}") == 3

        env_id = provider._register_env(_base(emu), "envdelivery-custom-x", {"variant": "minimal",
                                        "release": "current", "purpose": "custom"}, False)
        emu.configurations[env_id]["busy_left"] = 0
        emu.unapplied(1)
        provider.start(env_id)
        assert emu.configurations[env_id]["runstate"] == "running"
        assert sum(1 for m, p, _ in emu.log if m == "PUT" and p == f"/configurations/{env_id}") == 2


# -- the description limit (help.skytap.com API reference: 1000 characters) -----------------

def _template_with(artifact_text: str, length: int) -> Template:
    """A template whose plain description is exactly `length` characters."""
    template = Template(id="1", variant="minimal", release="current", version=1, status="built",
                        artifacts={"a": {"version": ""}})
    base = len(TEMPLATE_MARK + json.dumps(template.metadata(), sort_keys=True, separators=(",", ":")))
    template.artifacts = {"a": {"version": (artifact_text * length)[:length - base]}}
    return template


def test_the_emulator_refuses_descriptions_over_the_limit(skytap_module, provider_on):
    with skytap_module.SkytapEmulator() as emu:
        provider = provider_on(emu)
        tid = _base(emu)
        provider.request("PUT", f"/templates/{tid}", {"description": "x" * 1000})
        with pytest.raises(Exception, match=r"422 Description is too long \(maximum is 1000"):
            provider.request("PUT", f"/templates/{tid}", {"description": "x" * 1001})
        assert emu.templates[tid]["description"] == "x" * 1000


def test_metadata_at_the_limit_is_plain_and_over_it_is_packed(skytap_module, provider_on):
    with skytap_module.SkytapEmulator() as emu:
        provider = provider_on(emu)
        at_limit = _template_with("v", 1000)
        assert provider._description(at_limit) == TEMPLATE_MARK + json.dumps(
            at_limit.metadata(), sort_keys=True, separators=(",", ":"))
        over = _template_with("v", 1001)
        packed = provider._description(over)
        assert packed.startswith(TEMPLATE_MARK + "z85:") and len(packed) < 1000
        for template in (at_limit, over):
            template.id = emu.add_template(f"envdelivery-minimal-current-v{template.version}")
            provider._write(template)
            assert provider.get_template(template.id).artifacts == template.artifacts


def test_metadata_that_cannot_fit_is_refused_before_anything_is_written(skytap_module, provider_on):
    with skytap_module.SkytapEmulator() as emu:
        provider = provider_on(emu)
        env = provider._environment({"id": "1", "description": ENV_MARK + json.dumps(
            {"variant": "minimal", "release": "current", "purpose": "build"})})
        incompressible = {f"s{i}": {"version": secrets.token_hex(16)} for i in range(40)}
        meta = TemplateMeta(variant="minimal", release="current", artifacts=incompressible, build={})
        with pytest.raises(ProviderError) as caught:
            provider.save_template(env, meta)
        message = str(caught.value)
        assert "\n" not in message and "minimal/current" in message and "limit of 1000" in message
        assert _posts(emu, "/templates") == 0 and list(emu.templates) == [_base(emu)]


# An environment's description (variant, release line, purpose, template, lease) obeys the same limit.
def _spec(variant: str, tmp_path) -> EnvSpec:
    return EnvSpec(variant=variant, release="current", config={"name": "x"}, tool_command="true",
                   artifacts_dir=tmp_path, purpose="build")


def test_the_emulator_refuses_environment_descriptions_over_the_limit(skytap_module, provider_on):
    with skytap_module.SkytapEmulator() as emu:
        provider = provider_on(emu)
        body = {"template_id": _base(emu), "name": "envdelivery-x", "description": "x" * 1001}
        with pytest.raises(ProviderError, match=r"422 Description is too long \(maximum is 1000"):
            provider.request("POST", "/configurations", body)
        assert emu.configurations == {}
        eid = provider.create("configurations", {**body, "description": "x" * 1000})["id"]
        emu.configurations[eid]["busy_left"] = 0
        with pytest.raises(ProviderError, match=r"422 Description is too long"):
            provider.request("PUT", f"/configurations/{eid}", {"description": "x" * 1001})
        assert emu.configurations[eid]["description"] == "x" * 1000


def test_environment_descriptions_over_the_limit_are_packed(skytap_module, provider_on, tmp_path):
    long_name = "v" * 990  # a plain description would be over 1000 characters; packed it is short
    with skytap_module.SkytapEmulator(busy_polls=0) as emu:
        provider = provider_on(emu)
        built = provider.provision(_spec(long_name, tmp_path), ephemeral=True)
        template = Template(id="new", variant=long_name, release="current", version=1, status="verified")
        template.id = emu.add_template("envdelivery-long-v1", provider._description(template))
        deployed = provider.deploy(template, "deploy", ephemeral=True)
        provider.keep_environment(deployed)  # a PUT without the lease
        for env in (built, deployed):
            description = emu.configurations[env.id]["description"]
            assert description.startswith(ENV_MARK + "z85:") and len(description) <= 1000
        found = {env.id: env for env in provider.list_environments()}
        assert (found[built.id].variant, found[built.id].purpose) == (long_name, "build")
        assert (found[deployed.id].variant, found[deployed.id].template_id) == (long_name, template.id)
        provider.destroy(built.id)  # its lease is this live process's: recover() must keep the other
        assert provider.recover() == [] and list(emu.configurations) == [deployed.id]


def test_an_environment_description_that_cannot_fit_is_refused_before_anything_is_written(skytap_module,
                                                                                         provider_on, tmp_path):
    # Random letters and digits: about 6 bits a character, that compression cannot bring under 1000.
    incompressible = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(1300))
    with skytap_module.SkytapEmulator() as emu:
        provider = provider_on(emu)
        template = Template(id=_base(emu), variant=incompressible, release="current", version=1, status="verified")
        for attempt in (lambda: provider.provision(_spec(incompressible, tmp_path), ephemeral=True),
                        lambda: provider.deploy(template, "deploy", ephemeral=False)):
            with pytest.raises(ProviderError) as caught:
                attempt()
            message = str(caught.value)
            assert "\n" not in message and "limit of 1000" in message and "environment of" in message, message
        assert _posts(emu, "/configurations") == 0 and emu.configurations == {}
