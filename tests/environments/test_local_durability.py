"""The local provider keeps its templates through faults (issue 15): a lost or damaged catalog is
rebuilt from the metadata files beside the data; recovery adopts or keeps what it cannot account
for; gc and deploy cannot race; copies fail loudly and are checked against the saved manifest;
a full disk is one line and the next command works; timeouts kill the tool's whole process group."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jjb_envdelivery.environments import clone
from jjb_envdelivery.environments.catalog import TemplateMeta
from jjb_envdelivery.environments.local import LocalProvider
from jjb_envdelivery.environments.provider import EnvSpec, ProviderError, TemplateGone

LINE = ["--variant", "minimal", "--release", "current"]


def _listing(cli, capsys) -> tuple[dict, list[str]]:
    """`env list --json`: the listing, and the lines recovery printed (on stderr, so stdout stays JSON)."""
    capsys.readouterr()
    assert cli("env", "list", "--json") == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err.splitlines()


def _templates(listing: dict) -> dict:
    return {t["id"]: (t["version"], t["status"], t["pinned"]) for t in listing["templates"]}


def _dead_token() -> str:
    """The token of a process that has ended (this host, a reaped pid)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return f"{socket.gethostname()}:{done.stdout.strip()}:1"


def _provider(store: Path, **settings) -> LocalProvider:
    return LocalProvider({"root": str(store), **settings}, org_dir=store.parent)


# -- 1. the catalog survives its own loss --------------------------------------------------------
def _damage(path: Path, how: str) -> None:
    if how == "missing":
        path.unlink()
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "garbage":
        path.write_bytes(b"this is not a database\n" * 400)
    else:  # truncated: the header and schema page survive, the tables' pages do not
        with open(path, "r+b") as db:
            db.truncate(4096)


@pytest.mark.parametrize("how", ["missing", "empty", "garbage", "truncated"])
def test_a_damaged_catalog_is_rebuilt_and_nothing_is_deleted(workspace, cli, capsys, tmp_path, how):
    store = tmp_path / "store"
    for _ in range(2):
        assert cli("env", "build", *LINE) == 0
    assert cli("env", "verify", "--latest", *LINE) == 0
    assert cli("env", "pin", "minimal-current-v1") == 0
    assert cli("env", "deploy", "--template", "minimal-current-v2") == 0
    before, _ = _listing(cli, capsys)
    _damage(store / "catalog.sqlite", how)
    damaged = (store / "catalog.sqlite").read_bytes() if how in ("garbage", "truncated") else None

    after, recovered = _listing(cli, capsys)
    assert _templates(after) == _templates(before) == {"minimal-current-v1": (1, "built", True),
                                                       "minimal-current-v2": (2, "verified", False)}
    assert [(e["id"], e["template"]) for e in after["environments"]] == \
        [(e["id"], e["template"]) for e in before["environments"]]
    assert Path(after["environments"][0]["access"]["path"]).is_dir()
    rebuilt = [line for line in recovered if "rebuilt from 2 template(s) and 1 environment(s)" in line]
    assert len(rebuilt) == 1, recovered
    kept = list(store.glob("catalog.sqlite.corrupt-*"))
    if damaged is not None:
        assert [p.read_bytes() for p in kept] == [damaged]  # kept aside as it was, never deleted
        assert kept[0].name in rebuilt[0]
    # The version counter goes on from the highest version found.
    assert cli("env", "build", *LINE) == 0
    assert _templates(_listing(cli, capsys)[0])["minimal-current-v3"] == (3, "built", False)


@pytest.mark.slow
def test_two_processes_rebuild_a_lost_catalog_once(workspace, job_env, cli, tmp_path):
    store = tmp_path / "store"
    assert cli("env", "build", *LINE) == 0
    (store / "catalog.sqlite").unlink()
    command = ["jjb-envdelivery", "env", "list", "--json"]
    runs = [subprocess.Popen(command, cwd=workspace, env=job_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    reports = [line for _, err in outputs for line in err.splitlines() if "rebuilt from 1 template(s)" in line]
    assert len(reports) == 1, outputs
    for out, _ in outputs:
        assert [t["id"] for t in json.loads(out)["templates"]] == ["minimal-current-v1"]


def test_a_catalog_that_cannot_be_rebuilt_stops_with_one_line_and_deletes_nothing(tmp_path, monkeypatch):
    store = tmp_path / "store"
    provider = _provider(store)
    provider.close()
    (store / "catalog.sqlite").write_bytes(b"garbage" * 1000)
    before = (store / "catalog.sqlite").read_bytes()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(ProviderError) as failure:
        _provider(store)
    assert "\n" not in str(failure.value) and "cannot be rebuilt" in str(failure.value)
    assert "the disk is full; nothing was deleted" in str(failure.value)
    assert (store / "catalog.sqlite").read_bytes() == before
    assert not list(store.glob("catalog.sqlite.rebuild-*"))


def test_status_and_pin_changes_reach_template_json(workspace, cli, tmp_path):
    store = tmp_path / "store"
    assert cli("env", "build", *LINE) == 0
    assert cli("env", "verify", "--latest", *LINE) == 0
    assert cli("env", "pin", "minimal-current-v1") == 0
    document = json.loads((store / "templates" / "minimal-current-v1" / "template.json").read_text())
    assert (document["status"], document["pinned"]) == ("verified", True)


# -- 2. recovery deletes only what a dead process half-made -----------------------------------
def test_recover_adopts_readable_snapshots_and_keeps_what_it_cannot_account_for(workspace, cli, capsys, tmp_path):
    store = tmp_path / "store"
    assert cli("env", "build", *LINE) == 0
    db = sqlite3.connect(store / "catalog.sqlite")
    db.execute("DELETE FROM templates")  # the row is lost, the snapshot and its template.json are not
    db.commit()
    db.close()
    (store / "templates" / "odd").mkdir()
    (store / "templates" / "odd" / "data").write_text("someone's")
    (store / "environments" / "stray").mkdir()
    (store / "tmp" / "unknown.saving").mkdir()
    (store / "tmp" / "unknown.saving" / "file").write_text("who made this?")

    listing, recovered = _listing(cli, capsys)
    assert _templates(listing) == {"minimal-current-v1": (1, "built", False)}
    assert any("snapshot minimal-current-v1 registered again" in line for line in recovered), recovered
    for path in ("templates/odd", "environments/stray", "tmp/unknown.saving"):
        assert (store / path).exists()
        assert any(f"kept: {store / path}" in line and "remove it by hand" in line for line in recovered), recovered
    assert cli("env", "build", *LINE) == 0  # the counter went on from the adopted version
    assert "minimal-current-v2" in _templates(_listing(cli, capsys)[0])


def test_a_killed_save_burns_no_version_and_its_leftovers_go(tmp_path, monkeypatch):
    monkeypatch.delenv("JJB_ENVDELIVERY_LOCAL_ROOT", raising=False)
    store = tmp_path / "store"
    provider = _provider(store)
    meta = TemplateMeta(variant="minimal", release="current", artifacts={}, build={})
    dead = _dead_token()
    half = provider.catalog.reserve_template(meta, owner=dead)
    staging = store / "tmp" / f"{half.id}.saving"
    staging.mkdir()
    (staging / "owner").write_text(dead)
    # A save of another line whose row was lost with the catalog: its owner file says who made it.
    orphan = store / "tmp" / "other-current-v1.saving"
    orphan.mkdir()
    (orphan / "owner").write_text(dead)
    cleaned = provider.recover()
    assert f"template {half.id} (saving when its process ended)" in cleaned
    assert not staging.exists() and not orphan.exists()
    assert provider.catalog.reserve_template(meta, owner=provider.token).version == half.version
    provider.close()


def test_an_interrupted_delete_of_a_template_in_use_is_undone(workspace, cli, capsys, tmp_path):
    store = tmp_path / "store"
    assert cli("env", "build", *LINE) == 0
    assert cli("env", "deploy", "--template", "minimal-current-v1") == 0
    db = sqlite3.connect(store / "catalog.sqlite")
    db.execute("UPDATE templates SET status='deleting', owner=?, metadata=json_set(metadata, '$.previous_status', "
               "'built')", (_dead_token(),))
    db.commit()
    db.close()
    listing, recovered = _listing(cli, capsys)
    assert _templates(listing) == {"minimal-current-v1": (1, "built", False)}
    assert (store / "templates" / "minimal-current-v1" / "tree").is_dir()


# -- 3. gc and deploy cannot race ----------------------------------------------------------------
def test_gc_after_deploy_registered_keeps_the_template(workspace, cli, tmp_path, monkeypatch):
    store = tmp_path / "store"
    assert cli("env", "build", *LINE) == 0
    deployer, gc = _provider(store), _provider(store)
    template = deployer.get_template("minimal-current-v1")
    seen = {}
    real_clone = clone.clone_tree

    def gc_runs_mid_copy(*args, **kwargs):
        seen["users"] = gc.delete_unused_template(template.id)
        return real_clone(*args, **kwargs)
    monkeypatch.setattr(clone, "clone_tree", gc_runs_mid_copy)
    env = deployer.deploy(template, "deploy", ephemeral=False)
    assert seen["users"] == [env.id]
    assert gc.get_template(template.id).status == "built"
    assert (store / "templates" / template.id / "tree").is_dir()


def test_deploy_after_gc_marked_the_template_backs_out_leaving_nothing(workspace, cli, tmp_path):
    store = tmp_path / "store"
    assert cli("env", "build", *LINE) == 0
    deployer, gc = _provider(store), _provider(store)
    template = deployer.get_template("minimal-current-v1")
    before = gc.begin_delete(template.id)
    assert [t.status for t in gc.list_templates()] == ["deleting"]  # listed while being deleted
    with pytest.raises(TemplateGone):
        deployer.deploy(template, "deploy", ephemeral=False)
    assert deployer.list_environments() == []
    assert list((store / "environments").iterdir()) == []
    gc.cancel_delete(before)
    assert gc.get_template(template.id).status == "built"
    assert json.loads((store / "templates" / template.id / "template.json").read_text())["status"] == "built"


# -- 4. copies fail loudly and are verified -------------------------------------------------------
@pytest.mark.parametrize("vanishing", ["file", "directory"])
def test_a_source_removed_mid_copy_fails_the_copy(tmp_path, monkeypatch, vanishing):
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "a" / "1").write_text("one")
    (src / "a" / "2").write_text("two")
    (src / "z").mkdir()
    (src / "z" / "3").write_text("three")
    (src / "z" / "4").write_text("four")
    real = clone.clone_file

    def remove_while_copying(s, d, mode, stats):
        # After the listing, before its turn: a sibling file, or a directory the walk has yet to enter.
        if not removed:
            if vanishing == "file":
                victim = next(p for p in s.parent.iterdir() if p != s)
                victim.unlink()
            else:
                victim = src / ("z" if s.parent.name == "a" else "a")
                shutil.rmtree(victim)
            removed.append(victim)
        real(s, d, mode, stats)
    removed = []
    monkeypatch.setattr(clone, "clone_file", remove_while_copying)
    with pytest.raises(FileNotFoundError):
        clone.clone_tree(src, tmp_path / "dst", "copy")


@pytest.mark.parametrize("change", ["grown", "removed"])
def test_a_deploy_that_does_not_match_the_manifest_fails_and_leaves_nothing(workspace, cli, capsys, tmp_path,
                                                                            change):
    store = tmp_path / "store"
    assert cli("env", "build", *LINE) == 0
    victim = store / "templates" / "minimal-current-v1" / "tree" / "auth-service" / "disk.img"
    victim.chmod(0o644)
    if change == "grown":
        with open(victim, "ab") as out:
            out.write(b"x")
    else:
        victim.unlink()
    capsys.readouterr()
    assert cli("env", "deploy", "--template", "minimal-current-v1") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not match the template's manifest" in err and "auth-service/disk.img" in err
    assert list((store / "environments").iterdir()) == []
    assert _listing(cli, capsys)[0]["environments"] == []


def _supports_reflink(directory: Path) -> bool:
    a, b = directory / "probe-a", directory / "probe-b"
    a.write_bytes(b"x")
    try:
        with open(a, "rb") as s, open(b, "wb") as d:
            fcntl.ioctl(d.fileno(), clone.FICLONE, s.fileno())
        return True
    except OSError:
        return False
    finally:
        a.unlink()
        b.unlink(missing_ok=True)


def test_reflink_without_copy_on_write_says_what_to_do(make_workspace, cli, capsys, tmp_path):
    if _supports_reflink(tmp_path):
        pytest.skip("this file system has reflinks")
    store = tmp_path / "store"
    make_workspace({"name": "local", "settings": {"root": str(store), "clone": "reflink"}})
    capsys.readouterr()
    assert cli("env", "build", *LINE) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"the file system under {store} has no copy-on-write clones" in err and "clone: auto or clone: copy" in err
    assert "Errno" not in err
    assert list((store / "templates").iterdir()) == [] and list((store / "tmp").iterdir()) == []


# -- 5. disk full --------------------------------------------------------------------------------
DISK_FULL_SCRIPT = """
set -u
mount -t tmpfs -o size=4m tmpfs "$STORE" || exit 77
step() {{ echo "== $1"; shift; "$@"; echo "== rc $?"; }}
step small env ENVTOOL_DISK_KB=16 jjb-envdelivery env build {line}
step verify jjb-envdelivery env verify --latest {line}
step save-fills env ENVTOOL_DISK_KB=170 jjb-envdelivery env build {line}
step after-save jjb-envdelivery env list --json
step fits env ENVTOOL_DISK_KB=130 jjb-envdelivery env build {line}
step deploy-1 jjb-envdelivery env deploy --template minimal-current-v2
step deploy-fills jjb-envdelivery env deploy --template minimal-current-v2
step after-deploy jjb-envdelivery env list --json
step state sh -c 'ls "$STORE/environments" "$STORE/tmp" "$STORE/templates"'
"""


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_the_next_command_works(workspace, job_env, tmp_path, script_steps,
                                                            in_tmpfs_namespace):
    store = tmp_path / "store"
    store.mkdir()
    script = DISK_FULL_SCRIPT.format(line=" ".join(LINE))
    done = in_tmpfs_namespace(script, workspace, {**job_env, "STORE": str(store)})
    out = done.stdout + done.stderr
    steps = script_steps(done.stdout)
    assert "Traceback" not in out, out
    assert steps["small"][0] == steps["verify"][0] == 0, out
    assert steps["save-fills"][0] == 1, out
    assert (f"disk full under {store} while saving minimal-current-v2" in out
            and "nothing was saved" in out), out
    listing = json.loads(steps["after-save"][1][steps["after-save"][1].index("{\n"):])
    assert _templates(listing) == {"minimal-current-v1": (1, "verified", False)}
    assert listing["environments"] == []
    # The failed save burnt no version: the next build is v2 again.
    assert steps["fits"][0] == 0 and steps["deploy-1"][0] == 0, out
    assert steps["deploy-fills"][0] == 1, out
    assert f"disk full under {store} while deploying minimal-current-v2" in out, out
    listing = json.loads(steps["after-deploy"][1][steps["after-deploy"][1].index("{\n"):])
    assert sorted(_templates(listing)) == ["minimal-current-v1", "minimal-current-v2"]
    assert len(listing["environments"]) == 1  # the first deploy, intact; the partial one is gone
    state = steps["state"][1].split()
    assert [name for name in state if name.startswith("deploy-") and not name.endswith(".json")] == \
        [listing["environments"][0]["id"]]
    assert not any(name.endswith((".saving", ".deleting")) for name in state), state


# A deploy whose process died after filling the disk with a partial environment (finding 3):
# marked as a dead owner's, then the disk filled through it to the last byte.
ORPHAN_ON_FULL_DISK_SCRIPT = """
set -u
mount -t tmpfs -o size=2m tmpfs "$STORE" || exit 77
step() {{ echo "== $1"; shift; "$@"; echo "== rc $?"; }}
step build jjb-envdelivery env build {line}
step deploy jjb-envdelivery env deploy --template minimal-current-v1
step orphan {python} -c "$ORPHAN"
step list jjb-envdelivery env list --json
step state sh -c 'ls "$STORE/environments" "$STORE/tmp"'
"""
ORPHAN = """
import os, sys
from jjb_envdelivery.environments.local import LocalProvider
p = LocalProvider({"root": os.environ["STORE"]}, org_dir=".")
[row] = p.catalog.environment_rows()
p.catalog.update_environment(row["id"], owner=os.environ["DEAD"])
p.close()
try:
    with open(os.path.join(os.environ["STORE"], "environments", row["id"], "filler"), "wb") as out:
        while True:
            out.write(bytes(4096))
            out.flush()
except OSError:
    pass
stat = os.statvfs(os.environ["STORE"])
print("free", stat.f_bavail * stat.f_frsize)
"""


@pytest.mark.slow
def test_recovery_on_a_full_disk_frees_space_before_it_writes(workspace, job_env, tmp_path, script_steps,
                                                             in_tmpfs_namespace):
    """Every catalog write of recovery comes after the files it removes: a dead deploy's partial
    environment that filled the disk is removed by the next command, which then works."""
    store = tmp_path / "store"
    store.mkdir()
    script = ORPHAN_ON_FULL_DISK_SCRIPT.format(line=" ".join(LINE), python=sys.executable)
    done = in_tmpfs_namespace(script, workspace, {**job_env, "STORE": str(store), "ORPHAN": ORPHAN,
                                                  "DEAD": _dead_token()})
    out = done.stdout + done.stderr
    steps = script_steps(done.stdout)
    assert "Traceback" not in out, out
    assert steps["build"][0] == steps["deploy"][0] == steps["orphan"][0] == 0, out
    assert steps["orphan"][1].split() == ["free", "0"], out  # not a byte left
    assert steps["list"][0] == 0, out
    assert "(deploy, its process ended)" in done.stderr, out
    listing = json.loads(steps["list"][1][steps["list"][1].index("{\n"):])
    assert _templates(listing) == {"minimal-current-v1": (1, "built", False)}
    assert listing["environments"] == []
    assert steps["state"][1].split() == [f"{store}/environments:", f"{store}/tmp:"], out


# -- 6. timeouts kill the whole process group ---------------------------------------------------
LATE_WRITER = textwrap.dedent("""\
    ( sleep 2; mkdir -p {target}; echo late > {target}/late ) & echo $! > {pidfile}; sleep 60
""")


@pytest.mark.slow
def test_a_timed_out_tool_and_validation_command_die_with_their_children(tmp_path, monkeypatch, process_ends):
    monkeypatch.delenv("JJB_ENVDELIVERY_LOCAL_ROOT", raising=False)
    store = tmp_path / "store"
    provider = _provider(store, **{"command-timeout": 1})
    pidfile = tmp_path / "grandchild"
    spec = EnvSpec(variant="minimal", release="current", config={"name": "slow"},
                   tool_command=LATE_WRITER.format(target="{target}", pidfile=pidfile),
                   artifacts_dir=tmp_path, purpose="build")
    with pytest.raises(ProviderError, match="did not finish within 1s"):
        provider.provision(spec, ephemeral=True)
    grandchild = int(pidfile.read_text())
    assert process_ends(grandchild), "the grandchild outlived the timeout"
    time.sleep(2.5)  # past the moment the grandchild would have written
    assert list((store / "environments").iterdir()) == []

    spec = EnvSpec(variant="minimal", release="current", config={"name": "ok"}, tool_command="true",
                   artifacts_dir=tmp_path, purpose="build")
    env = provider.provision(spec, ephemeral=True)
    late = store / "environments" / env.id / "late"
    with pytest.raises(ProviderError, match="did not finish within 1s"):
        provider.run(env, LATE_WRITER.format(target=store / "environments" / env.id, pidfile=pidfile), timeout=1)
    assert process_ends(int(pidfile.read_text())), "the grandchild outlived the timeout"
    provider.destroy(env.id)
    time.sleep(2.5)
    assert not late.exists() and list((store / "environments").iterdir()) == []
    provider.close()



def _processes_in(environments: Path, running) -> list[int]:
    """Processes running with ENVDELIVERY_ENV inside ``environments`` (the tool, validation commands)."""
    marker = f"ENVDELIVERY_ENV={environments}/".encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if any(item.startswith(marker) for item in (proc / "environ").read_bytes().split(b"\0")):
                found.append(int(proc.name))
        except OSError:
            continue
    return [pid for pid in found if running(pid)]


@pytest.mark.slow
def test_recovery_stops_the_tool_a_killed_build_left_running(workspace, job_env, tmp_path, process_running,
                                                            process_ends):
    store = tmp_path / "store"
    build = subprocess.Popen(["jjb-envdelivery", "env", "build", *LINE], cwd=workspace, start_new_session=True,
                             env={**job_env, "ENVTOOL_SLEEP": "30"}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(store.glob("environments/build-*/*/host.json")):
        assert build.poll() is None and time.monotonic() < deadline, "the tool never started writing"
        time.sleep(0.02)  # polling interval; the deadline bounds the wait
    os.killpg(build.pid, signal.SIGKILL)  # the CLI's group only: the tool runs in a group of its own
    build.wait(timeout=30)
    tools = _processes_in(store / "environments", process_running)
    assert tools, "the tool should have outlived the CLI"
    done = subprocess.run(["jjb-envdelivery", "env", "list"], cwd=workspace, env=job_env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "(build, its process ended)" in done.stderr
    assert all(process_ends(pid) for pid in tools)
    assert list((store / "environments").iterdir()) == []
