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
import time
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


def test_a_full_disk_is_one_line_and_the_next_build_works(make_workspace, sample, script_steps, in_tmpfs_namespace):
    ws = make_workspace({"name": "command", "settings": sample_settings()})
    done = in_tmpfs_namespace(DISK_FULL_SCRIPT.format(line=" ".join(LINE)), ws)
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


# -- a run killed at each step -------------------------------------------------------------------

# The org's command for each operation: the sample, behind a wrapper that stops (until killed) the
# first HOLD_OP call, before the sample runs (HOLD_WHEN=before) or after it did its work and
# answered, the answer held back (after: the tool's work is done, the caller never hears of it).
HOLD = """#!/bin/sh
op=$1
if [ "$op" = "$HOLD_OP" ] && [ ! -e "$HOLD_DIR/held" ]; then
    if [ "$HOLD_WHEN" = after ]; then "{python}" "{sample}" "$op" > "$HOLD_DIR/answer"; fi
    touch "$HOLD_DIR/held"
    exec sleep 300
fi
exec "{python}" "{sample}" "$op"
"""

SLOW_TOOL, SLOW_COPY = {"ENVTOOL_SLEEP": "30"}, {"ENVPROVIDER_COPY_DELAY": "0.2"}
# case: (command, operation, when, extra environment, where "mid" waits), the steps a build, a
# deploy and a gc take through the protocol (command.py), in order. "mid": killed while the sample
# works, slowed by the extra environment, once the glob under the sample's root matches.
KILLS = {
    "build: before provision": ("build", "provision", "before", {}, None),
    "build: while the tool provisions": ("build", "provision", "mid", SLOW_TOOL, "environments/build-*/*"),
    "build: provisioned, answer lost": ("build", "provision", "after", {}, None),
    "build: validating": ("build", "run", "before", {}, None),
    "build: while saving": ("build", "save", "mid", SLOW_COPY, "tmp/*.saving/tree/*/*"),
    "build: saved, answer lost": ("build", "save", "after", {}, None),
    "build: before tearing down": ("build", "destroy", "before", {}, None),
    "build: torn down, answer lost": ("build", "destroy", "after", {}, None),
    "deploy: before deploying": ("deploy", "deploy", "before", {}, None),
    "deploy: while copying": ("deploy", "deploy", "mid", SLOW_COPY, "environments/deploy-*/*"),
    "deploy: deployed, answer lost": ("deploy", "deploy", "after", {}, None),
    "deploy: before handing over": ("deploy", "update-environment", "before", {}, None),
    "deploy: handed over, answer lost": ("deploy", "update-environment", "after", {}, None),
    "gc: before marking": ("gc", "update-template", "before", {}, None),
    "gc: marked deleting, answer lost": ("gc", "update-template", "after", {}, None),
    "gc: before deleting": ("gc", "delete-template", "before", {}, None),
    "gc: deleted, answer lost": ("gc", "delete-template", "after", {}, None),
}
# The dead run had nothing under its lease yet, or no longer.
NOTHING_LEFT = ("build: before provision", "build: torn down, answer lost", "deploy: before deploying",
                "deploy: handed over, answer lost", "gc: before marking", "gc: deleted, answer lost")
ARGS = {"build": ("build", *LINE), "deploy": ("deploy", *LINE, "--version", "1"), "gc": ("gc", *LINE, "--keep", "1")}


def template_data(root: Path, template_id: str) -> dict:
    """Every file of a template's snapshot and manifest, with its content."""
    base = root / "templates" / template_id
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", list(KILLS))
def test_a_run_killed_at_each_step_leaves_nothing_and_loses_nothing(make_workspace, sample, tmp_path, cli, capsys,
                                                                    wait_until, kill_tree, case):
    kind, operation, when, slow, progress = KILLS[case]
    hold = tmp_path / "hold.sh"
    hold.write_text(HOLD.format(python=sys.executable, sample=SAMPLE))
    hold.chmod(0o755)
    ws = make_workspace({"name": "command", "settings": {op: f"{hold} {op}" for op in command.REQUIRED}})
    for _ in range(2 if kind == "gc" else 1):  # gc --keep 1 then deletes v1
        assert cli("env", "build", *LINE) == 0 and cli("env", "verify", "--latest", *LINE) == 0
    before = records(sample, "templates")
    data = {tid: template_data(sample, tid) for tid in before}
    run = start(ws, *ARGS[kind], **slow, **({} if when == "mid" else
                                            {"HOLD_OP": operation, "HOLD_WHEN": when, "HOLD_DIR": str(tmp_path)}))
    try:
        wait_until(lambda: any(sample.glob(progress)) if progress else (tmp_path / "held").exists(), run)
    finally:
        kill_tree(run.pid)  # the CLI and every process under it, the tool's session included
        run.wait(timeout=30)
    capsys.readouterr()
    assert cli("env", "list", "--json") == 0
    out, err = capsys.readouterr()
    recovered = [line for line in err.splitlines() if line.startswith("recovered:")]
    listing = json.loads(out)

    # No environment of the dead run is left, except the one a deploy had handed over to its user.
    handed_over = case == "deploy: handed over, answer lost"
    envs = records(sample, "environments")
    assert [(e["purpose"], e["lease"]) for e in envs.values()] == ([("deploy", None)] if handed_over else []), case
    assert sorted(e["id"] for e in listing["environments"]) == sorted(envs)
    # Every template is whole: registered ones kept with their data, half-saved ones gone.
    after = records(sample, "templates")
    gone = {min(before, key=lambda tid: before[tid]["version"])} if case in (
        "gc: marked deleting, answer lost", "gc: before deleting", "gc: deleted, answer lost") else set()
    for tid in set(before) - gone:
        assert (after[tid]["status"], after[tid]["lease"]) == (before[tid]["status"], None), case
        assert template_data(sample, tid) == data[tid], f"{case}: template {tid} lost data"
    saved = case in ("build: saved, answer lost", "build: before tearing down", "build: torn down, answer lost")
    new = set(after) - set(before)
    assert set(after) == set(before) - gone | new and len(new) == saved, case
    assert {after[tid]["status"] for tid in new} <= {"built"} and sorted(t["id"] for t in listing["templates"]) \
        == sorted(after)
    # Nothing half-made or half-removed on the sample's disk.
    assert sorted(p.name for p in (sample / "environments").iterdir()) == sorted([*envs, *(f"{e}.json" for e in envs)])
    assert sorted(p.name for p in (sample / "templates").iterdir()) == sorted([*after, *(f"{t}.json" for t in after)])
    assert list((sample / "tmp").iterdir()) == []
    # Whatever the dead run had under its lease was reclaimed by this command, and said so.
    assert bool(recovered) == (case not in NOTHING_LEFT), (case, err)

    # And the line goes on: the next build gets the next version, none burnt by the dead run.
    assert cli("env", "build", *LINE) == 0
    versions = sorted(t["version"] for t in records(sample, "templates").values())
    first = 2 if gone else 1
    assert versions == list(range(first, first + len(after) + 1)), case


def orphans_of(pid: int) -> list[int]:
    """The process's children (the tool's sessions), read before it is killed."""
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.parametrize("kind, slow, progress", [
    ("build", SLOW_TOOL, "environments/build-*/*"),
    ("build", SLOW_COPY, "tmp/*.saving/tree/*/*"),
    ("deploy", SLOW_COPY, "environments/deploy-*/*"),
], ids=["provisioning", "saving", "deploying"])
def test_a_killed_cli_whose_tool_goes_on_leaves_nothing(make_workspace, sample, cli, wait_until, kill_tree,
                                                         process_running, kind, slow, progress):
    """SIGKILL of the CLI alone: the tool, in a session of its own, works on while the next command
    recovers, and whatever it still does must neither survive nor come back."""
    ws = make_workspace({"name": "command", "settings": sample_settings()})
    assert cli("env", "build", *LINE) == 0 and cli("env", "verify", "--latest", *LINE) == 0
    before = records(sample, "templates")
    already = set(sample.glob(progress))
    run = start(ws, *ARGS[kind], **slow)
    wait_until(lambda: set(sample.glob(progress)) - already, run)
    tools = orphans_of(run.pid)
    try:
        run.kill()
        run.wait(timeout=30)
        assert any(map(process_running, tools))
        assert cli("env", "list") == 0  # recovers while the tool runs on
        deadline = time.monotonic() + 60
        while any(map(process_running, tools)) and time.monotonic() < deadline:
            time.sleep(0.05)  # the orphaned tool fails once its environment or staging is gone
        assert not any(map(process_running, tools)), "the orphaned tool never ended"
    finally:
        for pid in tools:
            kill_tree(pid)
    # As the orphan left it, no other recovery since: what it did after its lease lapsed did not stay.
    assert records(sample, "environments") == {} and records(sample, "templates") == before
    assert sorted(p.name for p in (sample / "environments").iterdir()) == []
    assert list((sample / "tmp").iterdir()) == []
    assert cli("env", "build", *LINE) == 0
    assert sorted(t["version"] for t in records(sample, "templates").values()) == [1, 2]
