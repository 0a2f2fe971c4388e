"""Durability of the skytap provider against its emulator (issue 15, finding 5): version numbers
that cannot collide under concurrent saves, builds killed at each step and cleaned by the next
command's ``recover()``, deploy against gc, and recovery that touches nothing it did not mark."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.environments.catalog import TemplateMeta
from jjb_envdelivery.environments.process import new_lease
from jjb_envdelivery.environments.provider import ProviderError, TemplateGone
from jjb_envdelivery.environments.skytap import ENV_MARK, TEMPLATE_MARK, SkytapProvider, _decode_template

LINE = ["--variant", "minimal", "--release", "current"]
REMOTE_TOOL = "envtool provision-remote --config {config} --artifacts {artifacts} --target {target}"
# A lease whose owner is gone: this host, a pid that cannot exist.
DEAD = {"owner": f"{os.uname().nodename}:999999999:1", "expires": "2999-01-01T00:00:00Z"}


@pytest.fixture
def emulator(skytap_module):
    return skytap_module.SkytapEmulator


CREDENTIALS = {"SKYTAP_USER": "ci", "SKYTAP_TOKEN": "tok-123"}


@pytest.fixture
def credentials(monkeypatch):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


def _base(emu) -> str:
    return next(t["id"] for t in emu.templates.values() if t["name"] == "base")


def _settings(emu) -> dict:
    return {"url": emu.url, "base-template": _base(emu), "poll-interval": 0, "retry-delay": 0, "wait-timeout": 30,
            "retry-timeout": 30}


def _ours(emu) -> dict:
    """Template id -> metadata, for templates carrying ours."""
    return {tid: _decode_template(t) for tid, t in list(emu.templates.items()) if _decode_template(t)}


def _env(emu, description: str, name: str = "envdelivery-build-x") -> str:
    """An environment made directly in the emulator, settled."""
    status, view, _ = emu.create_env({"template_id": _base(emu), "name": name, "description": description})
    assert status == 200
    emu.configurations[view["id"]]["busy_left"] = 0
    return view["id"]


def _info(purpose: str = "build", **extra) -> str:
    return ENV_MARK + json.dumps({"variant": "minimal", "release": "current", "purpose": purpose,
                                  "template": None, **extra})


def _template(emu, version: int, status: str = "verified", **extra) -> str:
    return emu.add_template(f"envdelivery-minimal-current-v{version}", TEMPLATE_MARK + json.dumps(
        {"variant": "minimal", "release": "current", "version": version, "status": status, **extra}))


# -- version numbers ---------------------------------------------------------------------------

@pytest.mark.slow
def test_concurrent_saves_of_a_line_never_share_a_version(emulator, credentials, tmp_path):
    """Three saves of one line start together (a barrier), 12 trials; before reservation two
    saves computed the same next version from one list."""
    trials, savers = 12, 3
    with emulator(busy_polls=1) as emu:
        for trial in range(trials):
            providers = [SkytapProvider(_settings(emu), tmp_path) for _ in range(savers)]
            envs = [providers[0]._environment({"id": _env(emu, _info()), "description": _info()})
                    for _ in range(savers)]
            barrier = threading.Barrier(savers)
            errors = []

            def save(provider, env, barrier=barrier, errors=errors):
                barrier.wait()
                try:
                    provider.save_template(env, TemplateMeta("minimal", "current", {}, {}))
                except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                    errors.append(exc)
            threads = [threading.Thread(target=save, args=pair) for pair in zip(providers, envs, strict=True)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
            versions = sorted(m["version"] for m in _ours(emu).values())
            assert versions == list(range(1, savers * (trial + 1) + 1)), f"trial {trial}: {versions}"
            assert {m["status"] for m in _ours(emu).values()} == {"built"}
            for provider in providers:
                provider.close()


# -- builds killed at each step ------------------------------------------------------------------

@pytest.fixture
def skytap_workspace(make_workspace, credentials):
    def make(emu) -> Path:
        ws = make_workspace({"name": "skytap", "credential-id": "skytap-api", "settings": _settings(emu)})
        org_file = ws / "delivery.yaml"
        data = yaml.safe_load(org_file.read_text())
        data["environments"]["provisioning-tool"]["command"] = REMOTE_TOOL
        org_file.write_text(yaml.safe_dump(data, sort_keys=False))
        return ws
    return make


# (method, path, held after it took effect, matching requests let through first): the steps of a
# build, in order. What the build leaves at each point is what recover() must judge.
STEPS = {
    "environment created, answer lost": ("POST", r"/configurations", True, 0),
    "starting the environment": ("PUT", r"/configurations/\d+", False, 0),
    "before saving": ("POST", r"/templates", False, 0),
    "template created, no metadata yet": ("POST", r"/templates", True, 0),
    "version reserved (saving)": ("PUT", r"/templates/\d+", True, 0),
    "marked built": ("PUT", r"/templates/\d+", True, 1),
    "tearing the environment down": ("DELETE", r"/configurations/\d+", False, 0),
}


@pytest.mark.slow
@pytest.mark.parametrize("step", list(STEPS))
def test_a_build_killed_at_each_step_leaves_nothing_and_loses_nothing(emulator, skytap_workspace, job_env, cli,
                                                                      capsys, step):
    method, pattern, after, skip = STEPS[step]
    with emulator(busy_polls=1) as emu:
        ws = skytap_workspace(emu)
        assert cli("env", "build", *LINE) == 0
        (kept,) = _ours(emu)
        hold = emu.hold(method, pattern, after=after, skip=skip)
        build = subprocess.Popen(["jjb-envdelivery", "env", "build", *LINE], cwd=ws, env={**job_env, **CREDENTIALS},
                                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            _wait_for(hold, build, step)
        finally:
            os.killpg(build.pid, signal.SIGKILL)
            assert build.wait(30) == -signal.SIGKILL
            hold.dropped = not after  # killed before it sent the request
            hold.release.set()
        capsys.readouterr()
        assert cli("env", "list") == 0  # every command recovers first
        captured = capsys.readouterr()
        recovered = [line for line in captured.err.splitlines() if line.startswith("recovered:")]
        assert emu.configurations == {}, f"{step}: environments left behind"
        ours = _ours(emu)
        assert kept in ours and ours[kept]["status"] == "built", f"{step}: a registered template was lost"
        assert all(t["name"] == "base" or tid in ours for tid, t in emu.templates.items()), \
            f"{step}: a template without metadata was left"
        assert {m["status"] for m in ours.values()} == {"built"}
        expect_new = step in ("marked built", "tearing the environment down")
        assert len(ours) == (2 if expect_new else 1), step
        assert recovered, step
        # And the line goes on: the next build gets the next free version.
        assert cli("env", "build", *LINE) == 0
        assert sorted(m["version"] for m in _ours(emu).values()) == list(range(1, len(ours) + 2))


def _wait_for(hold, build: subprocess.Popen, step: str) -> None:
    """Until the build's request is held by the emulator; fails at once if the build ends first."""
    deadline = time.monotonic() + 60
    while not hold.reached.wait(0.05):
        assert build.poll() is None, f"the build ended before {step}: {build.stderr.read()}"
        assert time.monotonic() < deadline, f"the build never reached: {step}"


# -- deploy against gc -------------------------------------------------------------------------

def test_deploy_backs_out_of_a_template_being_deleted(emulator, credentials, tmp_path):
    with emulator(busy_polls=1) as emu:
        provider = SkytapProvider(_settings(emu), tmp_path)
        tid = _template(emu, 1)
        template = provider.get_template(tid)
        before = provider.begin_delete(tid)
        assert before.status == "verified" and _ours(emu)[tid]["status"] == "deleting"
        with pytest.raises(TemplateGone, match="being deleted"):
            provider.deploy(template, "deploy", ephemeral=False)
        assert emu.configurations == {}
        provider.cancel_delete(before)
        assert _ours(emu)[tid]["status"] == "verified" and "lease" not in _ours(emu)[tid]

        provider.delete_template(tid)
        with pytest.raises(TemplateGone, match="deleted"):  # Skytap: 404 on POST /configurations
            provider.deploy(template, "deploy", ephemeral=False)
        assert emu.configurations == {}


def test_gc_keeps_a_template_a_deploy_registered_first(emulator, credentials, tmp_path):
    with emulator(busy_polls=1) as emu:
        provider = SkytapProvider(_settings(emu), tmp_path)
        tid = _template(emu, 1)
        env = provider.deploy(provider.get_template(tid), "deploy", ephemeral=False)
        assert provider.delete_unused_template(tid) == [env.id]
        assert _ours(emu)[tid]["status"] == "verified"
        provider.destroy(env.id)
        assert provider.delete_unused_template(tid) == []
        assert tid not in emu.templates


# -- recover() ---------------------------------------------------------------------------------

def test_recover_finishes_or_undoes_a_delete_whose_gc_died(emulator, credentials, tmp_path):
    with emulator(busy_polls=1) as emu:
        provider = SkytapProvider(_settings(emu), tmp_path)
        unused = _template(emu, 1, "deleting", previous="verified", lease=DEAD)
        used = _template(emu, 2, "deleting", previous="verified", lease=DEAD)
        _env(emu, _info("deploy", template=used), name="envdelivery-deploy-x")
        live = _template(emu, 3, "deleting", previous="built", lease=new_lease())
        done = provider.recover()
        assert unused not in emu.templates
        assert _ours(emu)[used]["status"] == "verified"
        assert _ours(emu)[live]["status"] == "deleting"  # its gc is still at work
        assert len(done) == 2


def test_recover_touches_nothing_it_did_not_mark(emulator, credentials, tmp_path):
    """Nothing is deleted unless our own marks say it was half-made by an owner that is gone."""
    with emulator(busy_polls=1) as emu:
        provider = SkytapProvider(_settings(emu), tmp_path)
        elsewhere = {"owner": "another-agent:42:1", "expires": "2999-01-01T00:00:00Z"}
        keep_templates = [
            emu.add_template("envdelivery-hand-made", "not ours"),
            emu.add_template("someone-elses", TEMPLATE_MARK + json.dumps({"status": "saving", "lease": elsewhere})),
            _template(emu, 1),
            _template(emu, 2, "saving", lease=new_lease()),  # a live save (this process)
            _template(emu, 3, "saving", lease=elsewhere),  # a save on another agent, lease not expired
            emu.add_template(f"envdelivery-saving~ab~{elsewhere['owner']}~{elsewhere['expires']}"),
        ]
        keep_envs = [
            _env(emu, "a colleague's", name="envdelivery-by-hand"),
            _env(emu, _info("deploy")),  # deployed: no lease, the user's
            _env(emu, _info(lease=elsewhere)),
        ]
        dead_envs = [_env(emu, _info(lease=DEAD))]
        dead_templates = [
            _template(emu, 4, "saving", lease=DEAD),
            emu.add_template(f"envdelivery-saving~cd~{DEAD['owner']}~{DEAD['expires']}"),
        ]
        expired = {"owner": "another-agent:42:1", "expires": "2000-01-01T00:00:00Z"}
        dead_templates.append(_template(emu, 5, "saving", lease=expired))
        done = provider.recover()
        assert sorted(emu.templates) == sorted([_base(emu), *keep_templates])
        assert sorted(emu.configurations) == sorted(keep_envs)
        assert len(done) == len(dead_envs) + len(dead_templates)


def test_keep_environment_drops_the_lease(emulator, credentials, tmp_path):
    with emulator(busy_polls=1) as emu:
        provider = SkytapProvider(_settings(emu), tmp_path)
        handed_over = _env(emu, _info("custom", lease=DEAD))
        _env(emu, _info("custom", lease=DEAD))  # abandoned by its dead owner
        provider.keep_environment(provider.get_environment(handed_over))
        provider.recover()
        assert list(emu.configurations) == [handed_over]


# -- commands that time out ------------------------------------------------------------------------

def test_a_timed_out_command_dies_with_its_whole_process_group(emulator, credentials, tmp_path, process_ends):
    with emulator(busy_polls=1) as emu:
        provider = SkytapProvider(_settings(emu), tmp_path)
        env = provider._environment({"id": "1", "description": _info()})
        pid_file = tmp_path / "grandchild.pid"
        with pytest.raises(ProviderError, match="did not finish within 1s"):
            provider.run(env, f"sh -c 'sleep 60 & echo $! > {pid_file}; wait'", timeout=1)
        pid = int(pid_file.read_text())
        # SIGKILL was sent to the group; the kernel ends it when next scheduled.
        assert process_ends(pid), "the grandchild outlived the timeout"

