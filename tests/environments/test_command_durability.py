"""Faults through the command provider's protocol, with the sample provider
(examples/command-provider/envprovider.py): a build killed in the middle of its save, gc and deploy
interleaved at the two points that matter, a disk that fills where the sample stores data, and a
stopped deploy. Each asserts that no template is lost or half-registered and no environment leaked.

The interleavings are made deterministic with gates: the org file wraps one operation of the gc
process in a shell loop that waits for a file the test creates (GC_GATE is set only for gc)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jjb_envdelivery.environments import command
from jjb_envdelivery.environments.command import CommandProvider

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "command-provider" / "envprovider.py"
LINE = ("--variant", "minimal", "--release", "current")


def sample_settings(gated: str | None = None) -> dict:
    settings = {op: f"{sys.executable} {SAMPLE} {op}" for op in command.REQUIRED}
    if gated:
        # In the gc process only: say it is waiting, then wait for the test to open the gate.
        settings[gated] = ('if [ -n "$GC_GATE" ]; then touch "$GC_GATE.waiting"; '
                           'while [ ! -e "$GC_GATE.go" ]; do sleep 0.02; done; fi; ' + settings[gated])
    return settings


@pytest.fixture
def sample(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "sample-root"
    root.mkdir()
    monkeypatch.setenv("ENVPROVIDER_ROOT", str(root))
    return root


def records(root: Path, kind: str) -> dict:
    return {p.stem: json.loads(p.read_text()) for p in (root / kind).glob("*.json")}


def start(ws: Path, *args: str, **extra_env: str) -> subprocess.Popen:
    return subprocess.Popen(["jjb-envdelivery", "env", *args], cwd=ws, env={**os.environ, **extra_env},
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(ws: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["jjb-envdelivery", "env", *args], cwd=ws, env={**os.environ, **extra_env},
                          capture_output=True, text=True, timeout=120)


def build_verified(ws: Path, times: int) -> None:
    for _ in range(times):
        for step in (("build", *LINE), ("verify", "--latest", *LINE)):
            done = run(ws, *step)
            assert done.returncode == 0, done.stderr


def test_a_build_killed_during_its_save_registers_nothing(make_workspace, sample, wait_until, kill_tree):
    ws = make_workspace({"name": "command", "settings": sample_settings()})
    build = start(ws, "build", *LINE, ENVPROVIDER_COPY_DELAY="0.2")  # ~35 files: ~7 s of copying
    staging = sample / "tmp"
    wait_until(lambda: len([p for p in staging.glob("*.saving/tree/*/*")]) >= 3, build)
    kill_tree(build.pid)
    build.wait(timeout=30)
    [half] = records(sample, "templates").values()
    assert half["status"] == "saving"  # the kill came mid-copy
    provider = CommandProvider(sample_settings(), ws)
    assert provider.list_templates() == []  # never offered, not even before recovery
    done = run(ws, "list", "--json")
    assert done.returncode == 0, done.stderr
    assert f"recovered: template {half['id']} (saving when its process ended)" in done.stderr
    assert json.loads(done.stdout) == {"templates": [], "environments": []}
    assert [p.name for p in (sample / "templates").iterdir()] == []
    assert [p.name for p in (sample / "environments").iterdir()] == []
    assert [p.name for p in (sample / "tmp").iterdir()] == []
    assert run(ws, "build", *LINE).returncode == 0
    assert [t["version"] for t in records(sample, "templates").values()] == [1]  # no version burnt


def test_a_deploy_registered_before_gc_marks_keeps_its_template(make_workspace, sample, tmp_path, wait_until):
    """The race of issue 15: gc planned from a listing without the deploy (it had not started), the
    deploy registers, then gc marks and lists again: it must see the deploy and keep the template."""
    ws = make_workspace({"name": "command", "settings": sample_settings(gated="update-template")})
    build_verified(ws, 2)
    older = min(records(sample, "templates").values(), key=lambda t: t["version"])
    gate = tmp_path / "gate"
    gc = start(ws, "gc", *LINE, "--keep", "1", GC_GATE=str(gate))
    wait_until(lambda: Path(f"{gate}.waiting").exists(), gc)  # planned; about to mark the older template
    deploy = start(ws, "deploy", *LINE, "--version", "1", ENVPROVIDER_COPY_DELAY="0.05")
    wait_until(lambda: any(e["purpose"] == "deploy" for e in records(sample, "environments").values()), deploy)
    Path(f"{gate}.go").touch()
    gc_out, gc_err = gc.communicate(timeout=120)
    deploy_out, deploy_err = deploy.communicate(timeout=120)
    assert gc.returncode == 0 and deploy.returncode == 0, gc_err + deploy_err
    [env] = records(sample, "environments").values()
    assert f"kept {older['id']} (minimal current v1, verified): in use by {env['id']} (deployed while gc ran)" \
        in gc_out
    assert (env["template"], env["state"], env["lease"]) == (older["id"], "running", None)
    templates = records(sample, "templates")
    assert (templates[older["id"]]["status"], templates[older["id"]]["lease"]) == ("verified", None)
    assert (sample / "templates" / older["id"] / "tree").is_dir()


def test_a_deploy_after_gc_marked_backs_out(make_workspace, sample, tmp_path, wait_until):
    """gc marked the template deleting and found no user; a deploy that starts now must not run from
    it: it fails in one line and leaves no environment, and gc deletes the template."""
    ws = make_workspace({"name": "command", "settings": sample_settings(gated="delete-template")})
    build_verified(ws, 2)
    older = min(records(sample, "templates").values(), key=lambda t: t["version"])
    gate = tmp_path / "gate"
    gc = start(ws, "gc", *LINE, "--keep", "1", GC_GATE=str(gate))
    wait_until(lambda: Path(f"{gate}.waiting").exists(), gc)
    assert records(sample, "templates")[older["id"]]["status"] == "deleting"
    deploy = run(ws, "deploy", "--template", older["id"])
    assert deploy.returncode == 1 and "Traceback" not in deploy.stderr
    assert "cannot be deployed (it is deleting)" in deploy.stderr or "being deleted" in deploy.stderr, \
        deploy.stderr
    Path(f"{gate}.go").touch()
    gc_out, gc_err = gc.communicate(timeout=120)
    assert gc.returncode == 0, gc_err
    assert f"deleted {older['id']}" in gc_out
    assert records(sample, "environments") == {}
    assert older["id"] not in records(sample, "templates")
    assert not (sample / "templates" / older["id"]).exists()


def test_a_deploy_racing_the_mark_never_runs_from_a_deleted_template(make_workspace, sample, tmp_path, wait_until):
    """The deploy was selected before the mark (it passes lifecycle's status check) and reaches the
    tool after it: the tool refuses at registration, the provider reports TemplateGone."""
    ws = make_workspace({"name": "command", "settings": sample_settings(gated="delete-template")})
    build_verified(ws, 2)
    older = min(records(sample, "templates").values(), key=lambda t: t["version"])
    provider = CommandProvider(sample_settings(), ws)
    template = provider.get_template(older["id"])  # selected while still verified
    gate = tmp_path / "gate"
    gc = start(ws, "gc", *LINE, "--keep", "1", GC_GATE=str(gate))
    wait_until(lambda: Path(f"{gate}.waiting").exists(), gc)
    with pytest.raises(command.TemplateGone, match=f"template {older['id']} was deleted while being deployed"):
        provider.deploy(template, "deploy", ephemeral=False)
    assert records(sample, "environments") == {}
    Path(f"{gate}.go").touch()
    assert gc.wait(timeout=120) == 0
    assert older["id"] not in records(sample, "templates")


def test_a_stopped_deploy_removes_its_environment_at_once(make_workspace, sample, wait_until):
    """SIGTERM (Jenkins's abort) while the tool copies: the tool's process group is killed and the
    environment it registered under this run's lease is removed before the command exits."""
    ws = make_workspace({"name": "command", "settings": sample_settings()})
    build_verified(ws, 1)
    deploy = start(ws, "deploy", *LINE, ENVPROVIDER_COPY_DELAY="0.2")
    wait_until(lambda: any((sample / "environments").glob("deploy-*/*")), deploy)
    deploy.send_signal(signal.SIGTERM)  # the CLI only: the tool's group is the CLI's to kill
    _out, err = deploy.communicate(timeout=60)
    assert deploy.returncode == 143 and "Traceback" not in err, err
    assert records(sample, "environments") == {}
    assert [p for p in (sample / "environments").iterdir()] == []
    assert len(records(sample, "templates")) == 1


DISK_FULL_SCRIPT = """
mount -t tmpfs -o size=2m tmpfs "$ENVPROVIDER_ROOT" || exit 77
step() {{ name=$1; shift; echo "== $name"; "$@" 2>&1; echo "== rc $?"; }}
step provision-fills env ENVTOOL_DISK_KB=200 jjb-envdelivery env build {line}
step save-fills env ENVTOOL_DISK_KB=100 jjb-envdelivery env build {line}
step after jjb-envdelivery env list --json
step fits env ENVTOOL_DISK_KB=16 jjb-envdelivery env build {line}
step listing jjb-envdelivery env list --json
step state sh -c 'cd "$ENVPROVIDER_ROOT" && ls -A environments templates tmp'
"""


def test_a_full_disk_is_one_line_and_the_next_build_works(make_workspace, sample, script_steps):
    ws = make_workspace({"name": "command", "settings": sample_settings()})
    try:
        done = subprocess.run(["unshare", "-rm", "sh", "-c", DISK_FULL_SCRIPT.format(line=" ".join(LINE))],
                              cwd=ws, capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        done = None
    if done is None or done.returncode == 77 or "unshare:" in done.stderr[:200]:
        if os.environ.get("CI"):
            pytest.fail("a tmpfs in a user namespace is needed for the disk-full test (CI must run it)")
        pytest.skip("cannot mount a tmpfs in a user namespace here")
    out = done.stdout + done.stderr
    # The stand-in envtool dies of the full disk with its own traceback; nothing of ours may.
    frames = [line for line in out.splitlines() if line.strip().startswith('File "')]
    assert not [line for line in frames if "envprovider.py" in line or "jjb" in line], out
    found = script_steps(done.stdout)
    for step in ("provision-fills", "save-fills"):
        status, text = found[step]
        errors = [line for line in text.splitlines() if line.startswith("jjb-envdelivery: error:")]
        assert status == 1 and len(errors) == 1, text
    assert "the provisioning tool failed" in found["provision-fills"][1]
    assert "save" in found["save-fills"][1] and "No space left on device" in found["save-fills"][1]
    after = found["after"][1]
    assert json.loads(after[after.index("{\n"):]) == {"templates": [], "environments": []}
    assert found["fits"][0] == 0, found["fits"][1]
    listing = found["listing"][1]
    [template] = json.loads(listing[listing.index("{\n"):])["templates"]
    assert (template["version"], template["status"]) == (1, "built")  # failed saves burnt no version
    state = found["state"][1].split()
    assert [name for name in state if name.startswith("tpl-")] == [template["id"], f"{template['id']}.json"]
    assert not any(name.endswith((".saving", ".trash", ".tmp")) or name.startswith("build-") for name in state)
