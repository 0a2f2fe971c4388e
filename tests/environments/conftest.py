"""Fixtures for the environment lifecycle: a stand-in provisioning tool, the CLI, org files."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.cli import main as cli_main

VENV_BIN = Path(sys.executable).parent

# The organisation's provisioning tool is theirs, not ours: this script stands in for `envtool`.
# `provision` writes one directory per host (services, a disk image) into --target from --config
# and reports service versions; `check` validates the environment it runs in. ENVTOOL_SLEEP slows
# provisioning (kill tests), ENVTOOL_FAIL_CHECK makes every check fail (failure tests),
# ENVTOOL_VERSIONS ({"service": "version"}, JSON) reports other versions than 1.0 (bill of materials).
ENVTOOL = '''#!{python}
import json, os, sys, time
from pathlib import Path

def option(name):
    return sys.argv[sys.argv.index(name) + 1]

command = sys.argv[1]
if command == "provision":
    config = json.loads(Path(option("--config")).read_text())
    artifacts = Path(option("--artifacts"))
    if not list(artifacts.glob("envtool-*.tar.gz")):
        sys.exit("envtool: no envtool artifact in " + str(artifacts))
    target = Path(option("--target"))
    if not target.is_dir():
        sys.exit("envtool: target is not a directory: " + str(target))
    delay = float(os.environ.get("ENVTOOL_SLEEP", "0"))
    reported = json.loads(os.environ.get("ENVTOOL_VERSIONS") or "{{}}")
    versions = {{}}
    for host in config["hosts"]:
        directory = target / host["name"]
        directory.mkdir()
        (directory / "host.json").write_text(json.dumps(host))
        (directory / "disk.img").write_bytes(os.urandom(int(os.environ.get("ENVTOOL_DISK_KB", "16")) * 1024))
        for service in host["services"]:
            (directory / (service + ".service")).write_text(service + " running\\n")
            versions[service] = reported.get(service, "1.0")
        # A slow tool is the point (ENVTOOL_SLEEP): test_kill kills builds while they provision.
        time.sleep(delay / max(1, len(config["hosts"])))
    (target / "environment.json").write_text(json.dumps(config))
    Path(config["report-file"]).write_text(json.dumps(versions))
elif command == "provision-remote":
    config = json.loads(Path(option("--config")).read_text())
    # Slow on request, like `provision` (kill and SIGTERM tests stop builds while they provision).
    time.sleep(float(os.environ.get("ENVTOOL_SLEEP", "0")))
    Path(config["report-file"]).write_text(json.dumps({{s: "2.0" for h in config["hosts"] for s in h["services"]}}))
    print("envtool: provisioned remote environment " + option("--target"))
elif command == "check":
    if os.environ.get("ENVTOOL_FAIL_CHECK"):
        sys.exit("envtool: check failed (ENVTOOL_FAIL_CHECK)")
    env = Path(os.environ["ENVDELIVERY_ENV"])
    if not env.is_dir():  # a remote environment (skytap): reached over the network, here only named
        print("envtool: " + " ".join(sys.argv[2:]) + " ok (remote " + str(env) + ")")
        sys.exit(0)
    if Path.cwd().resolve() != env.resolve():
        sys.exit("envtool: not run inside the environment")
    config = json.loads((env / "environment.json").read_text())
    for host in config["hosts"]:
        for service in host["services"]:
            if not (env / host["name"] / (service + ".service")).is_file():
                sys.exit("envtool: " + service + " is missing")
    print("envtool: " + " ".join(sys.argv[2:]) + " ok (" + str(len(config["hosts"])) + " hosts)")
else:
    sys.exit("envtool: unknown command " + command)
'''

def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def tool_bin(tmp_path) -> Path:
    """A bin directory with `envtool`, the organisation's provisioning tool in these tests."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _executable(bin_dir / "envtool", ENVTOOL.format(python=sys.executable))
    return bin_dir


@pytest.fixture
def job_env(tool_bin, monkeypatch) -> dict:
    """Process environment for commands: our tool first on PATH, then the venv's bin."""
    monkeypatch.delenv("JJB_ENVDELIVERY_LOCAL_ROOT", raising=False)
    path = os.pathsep.join([str(tool_bin), str(VENV_BIN), os.environ.get("PATH", "")])
    monkeypatch.setenv("PATH", path)
    return {**os.environ, "PATH": path}


@pytest.fixture
def cli():
    """Run `jjb-envdelivery ARGS...` in-process; returns the exit status."""

    def run(*argv: str) -> int:
        return cli_main.main([str(a) for a in argv])
    return run


def write_org(example_org_dir: Path, dest: Path, provider: dict) -> Path:
    """A copy of the example organisation whose provider is `provider` ({name, settings})."""
    shutil.copytree(example_org_dir, dest, ignore=shutil.ignore_patterns("__pycache__"))
    org_file = dest / "delivery.yaml"
    data = yaml.safe_load(org_file.read_text())
    data["environments"]["provider"] = provider
    # The stand-in tool above is delivered as envtool-<version>.tar.gz (the example's envtool is a zipapp).
    data["environments"]["provisioning-tool"]["artifact"] = "dist/envtool-*.tar.gz"
    org_file.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


@pytest.fixture
def make_workspace(example_org_dir, tmp_path, job_env, monkeypatch):
    """make_workspace(provider) -> a jobs-repo checkout using that provider ({name, settings}), with
    the tool artifact fetched (as the copyartifact step does), as the current directory."""
    def make(provider: dict, name: str = "ws") -> Path:
        ws = write_org(example_org_dir, tmp_path / name, provider)
        tool_dir = ws / ".envdelivery" / "tool"
        tool_dir.mkdir(parents=True)
        (tool_dir / "envtool-1.0.tar.gz").write_bytes(b"envtool 1.0")
        monkeypatch.chdir(ws)
        return ws
    return make


@pytest.fixture
def workspace(make_workspace, tmp_path) -> Path:
    """The local provider, rooted in tmp_path/store."""
    return make_workspace({"name": "local", "settings": {"root": str(tmp_path / "store")}})


@pytest.fixture(scope="session")
def skytap_module():
    """skytap_emulator.py, loaded once (with --import-mode=importlib tests cannot import siblings)."""
    spec = importlib.util.spec_from_file_location("envtests_skytap_emulator",
                                                  Path(__file__).with_name("skytap_emulator.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _process_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not: it has ended and waits to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.fixture
def process_running():
    """process_running(pid) -> bool, read from /proc."""
    return _process_running


def _ends_within(pid: int, limit: float = 10.0) -> bool:
    """Whether ``pid`` has ended within ``limit`` seconds: a SIGKILLed process dies when next
    scheduled, which on a loaded machine is not at once."""
    deadline = time.monotonic() + limit
    while _process_running(pid) and time.monotonic() < deadline:
        time.sleep(0.01)  # polling interval; the deadline bounds the wait
    return not _process_running(pid)


@pytest.fixture
def process_ends():
    """process_ends(pid) -> bool: it ended within 10 s (after a SIGKILL)."""
    return _ends_within


def _script_steps(output: str) -> dict:
    """{step: (exit status, output)} from a script that prints ``== NAME`` before each step and
    ``== rc N`` after it (the disk-full scripts run inside a private tmpfs)."""
    found, name, lines = {}, None, []
    for line in output.splitlines():
        if line.startswith("== rc "):
            found[name] = (int(line[6:]), "\n".join(lines))
        elif line.startswith("== "):
            name, lines = line[3:], []
        else:
            lines.append(line)
    return found


@pytest.fixture
def script_steps():
    """script_steps(output) -> {step: (exit status, output)}."""
    return _script_steps


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, by the parent links in /proc (whatever their session)."""
    children: dict[int, list[int]] = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat_file.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat_file.parent.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo.extend(children.get(found[-1], []))
    return found


def _kill_tree(pid: int) -> None:
    """SIGKILL the process and everything under it, whatever its session, as Jenkins does to an
    aborted build's process tree: stopped first, so that none escapes by forking meanwhile."""
    stopped: set[int] = set()
    while new := [p for p in _descendants(pid) if p not in stopped]:
        for p in new:
            try:
                os.kill(p, signal.SIGSTOP)
            except ProcessLookupError:
                pass
            stopped.add(p)
    for p in stopped:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def kill_tree():
    """kill_tree(pid): SIGKILL a process tree (the tool runs in a session of its own)."""
    return _kill_tree


def _wait_until(condition, process: subprocess.Popen, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert process.poll() is None, f"ended before the point under test: {process.communicate()}"
        assert time.monotonic() < deadline, "never reached the point under test"
        time.sleep(0.02)  # polling interval; the deadline bounds the wait


@pytest.fixture
def wait_until():
    """wait_until(condition, process): poll until the condition holds; fail if the process ends first."""
    return _wait_until


def _in_tmpfs_namespace(script: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the shell `script` in a user and mount namespace of its own (``unshare -rm``), where it
    mounts a small tmpfs to fill (a full disk without touching the host's). Skips where this host
    cannot, except in CI, where the disk-full tests must run; exit status 77 from the script
    means the same."""
    try:
        done = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=cwd, capture_output=True, text=True,
                              env=env, timeout=300)
    except FileNotFoundError:
        done = None
    if done is None or done.returncode == 77 or "unshare:" in done.stderr[:200]:
        if os.environ.get("CI"):
            pytest.fail("a tmpfs in a user namespace is needed for the disk-full test (CI must run it)")
        pytest.skip("cannot mount a tmpfs in a user namespace here")
    return done


@pytest.fixture
def in_tmpfs_namespace():
    """in_tmpfs_namespace(script, cwd, env=None) -> the finished run (see _in_tmpfs_namespace)."""
    return _in_tmpfs_namespace
