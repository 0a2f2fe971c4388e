"""Fault injection (seeded, bounded) and the ``main()`` command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import jenkins
import pytest
import requests

from jjb_envdelivery.testing.emulator_faults import Fault, FaultPlan
from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator


def statuses(emu: JenkinsEmulator, n: int) -> list[int | str]:
    out: list[int | str] = []
    for _ in range(n):
        try:
            out.append(requests.get(emu.url + "api/json", timeout=5).status_code)
        except requests.ConnectionError:
            out.append("reset")
    return out


def test_same_seed_same_fault_sequence() -> None:
    faults = ["503:0.3", "502:0.2@GET /api/json", "reset:0.1"]
    runs = []
    for seed in (42, 42, 7):
        with JenkinsEmulator(faults=faults, seed=seed) as emu:
            runs.append(statuses(emu, 30))
            assert [r.fault for r in emu.request_log if r.fault]  # faults were logged
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert {503, 502, 200, "reset"} <= set(runs[0]) | set(runs[2])


def test_fault_plan_decisions_are_reproducible_without_http() -> None:
    def seq(seed: int) -> list[str | None]:
        plan = FaultPlan([Fault("500", 0.5, "POST *"), Fault("latency", 0.5, seconds=0.01)],
                         seed)
        return [plan.decide(m, "/createItem").label for m in ("GET", "POST") * 20]

    assert seq(1) == seq(1) and seq(1) != seq(2)
    assert all(label in (None, "500", "latency 0.01s", "latency 0.01s, 500")
               for label in seq(3))


def test_pattern_and_limit_make_a_retry_succeed() -> None:
    with JenkinsEmulator(faults=[Fault("503", 1.0, "POST */createItem", limit=2)]) as emu:
        s = requests.Session()
        s.headers["Jenkins-Crumb"] = s.get(emu.url + "crumbIssuer/api/json").json()["crumb"]
        codes = [s.post(emu.url + "createItem?name=x", data=b"<project/>",
                        headers={"Content-Type": "text/xml"}).status_code for _ in range(3)]
        assert codes == [503, 503, 200]
        assert s.get(emu.url + "api/json").status_code == 200  # GETs never matched
        assert emu.jobs() == ["x"]  # the faulted POSTs changed nothing


def test_reset_raises_connection_error_in_python_jenkins() -> None:
    with JenkinsEmulator(faults=["reset:1@GET /crumbIssuer/*"]) as emu:
        client = jenkins.Jenkins(emu.url, timeout=5)
        with pytest.raises(requests.ConnectionError):
            client.get_jobs()
        assert emu.request_log[0].status is None and emu.request_log[0].fault == "reset"


def test_stall_makes_a_short_timeout_client_time_out() -> None:
    with JenkinsEmulator(faults=[Fault("stall", 1.0, "GET /api/json", seconds=30)]) as emu:
        started = time.monotonic()
        with pytest.raises(requests.Timeout):
            requests.get(emu.url + "api/json", timeout=0.3)
        with pytest.raises(jenkins.TimeoutException):
            jenkins.Jenkins(emu.url, timeout=0.3).get_jobs()
    # stop() cut the 30 s stalls short
    assert time.monotonic() - started < 15


def test_latency_delays_but_answers() -> None:
    with JenkinsEmulator(faults=["latency:1:0.2"]) as emu:
        started = time.monotonic()
        assert requests.get(emu.url + "api/json", timeout=10).status_code == 200
        assert time.monotonic() - started >= 0.15


@pytest.mark.parametrize("bad", ["nope:0.5", "503:2", "503", "stall:1:9999"])
def test_bad_fault_specs_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        Fault.parse(bad)


def test_main_serves_until_sigterm(tmp_path) -> None:
    plugins = tmp_path / "plugins.yaml"
    plugins.write_text("- {shortName: cloudbees-folder, version: '6.9', longName: Folders}\n")
    code = ("import sys; from jjb_envdelivery.testing.jenkins_emulator import main; "
            "sys.exit(main(sys.argv[1:]))")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--port", "0", "--user", "admin:pw", "--token", "admin:t1",
         "--role", "viewer=reader", "--plugins", str(plugins), "--state-dir",
         str(tmp_path / "state"), "--fault", "503:0@POST *", "--seed", "3"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        assert line.startswith("Jenkins REST emulator listening on http://127.0.0.1:")
        url = line.split()[-1]
        s = requests.Session()
        s.auth = ("admin", "t1")
        r = s.post(url + "createItem?name=kept", data=b"<project/>",
                   headers={"Content-Type": "text/xml"}, timeout=5)
        assert r.status_code == 200
        assert s.get(url + "pluginManager/api/json?depth=1", timeout=5).json()["plugins"][0][
            "version"] == "6.9"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert (tmp_path / "state" / "state.json").is_file()


def test_main_rejects_bad_arguments() -> None:
    from jjb_envdelivery.testing.jenkins_emulator import main

    with pytest.raises(SystemExit):
        main(["--user", "no-colon"])
    with pytest.raises(SystemExit):
        main(["--fault", "bogus:1"])
