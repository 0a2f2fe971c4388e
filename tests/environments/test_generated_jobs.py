"""The example organisation's generated environment jobs, run as Jenkins would run them.

Jenkins is simulated from the generated XML itself: each job's builders run in order (a
copyartifact step copies the tool artifact, a shell step runs with ``/bin/sh -xe -c``), and a
finished job triggers the environment jobs whose reverse build trigger names it, when its result
meets the trigger's threshold. The provider is the local one, rooted in tmp_path.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.orchestration.checked_render import render_organisation

RANK = {"SUCCESS": 3, "UNSTABLE": 2, "FAILURE": 1}
VARIANT, RELEASE = "minimal", "current"


@dataclass
class SimJenkins:
    workspace: Path
    env: dict
    jobs: dict  # name -> parsed config.xml
    history: list = field(default_factory=list)  # (job, number, result)

    def downstream(self, name: str, result: str) -> list[str]:
        """Env jobs whose reverse build trigger fires on `name` finishing with `result`."""
        fired = []
        for other, root in self.jobs.items():
            for trigger in root.iter("jenkins.triggers.ReverseBuildTrigger"):
                upstream = [u.strip() for u in trigger.findtext("upstreamProjects", "").split(",")]
                threshold = trigger.findtext("threshold/name")
                if name in upstream and RANK[result] >= RANK[threshold]:
                    fired.append(other)
        return fired

    def run_job(self, name: str, extra_env: dict | None = None, parameters: dict | None = None) -> str:
        number = sum(1 for job, _, _ in self.history if job == name) + 1
        env = {**self.env, **(extra_env or {}), **(parameters or {}), "JOB_NAME": name, "BUILD_NUMBER": str(number),
               "BUILD_URL": f"https://jenkins.example.com/job/{name.replace('/', '/job/')}/{number}/",
               "WORKSPACE": str(self.workspace)}
        result = "SUCCESS"
        for step in self.jobs[name].find("builders"):
            if step.tag == "hudson.plugins.copyartifact.CopyArtifact":
                # The CI job's last successful artifact, flattened into the target directory.
                assert step.findtext("filter") == "dist/envtool-*.tar.gz"
                assert step.findtext("flatten") == "true"
                target = self.workspace / step.findtext("target")
                target.mkdir(parents=True, exist_ok=True)
                (target / "envtool-1.0.tar.gz").write_bytes(b"envtool 1.0 release archive")
            elif step.tag == "hudson.tasks.Shell":
                done = subprocess.run(["/bin/sh", "-xe", "-c", step.findtext("command")], cwd=self.workspace,
                                      env=env, capture_output=True, text=True, timeout=120)
                print(done.stdout, done.stderr)
                if done.returncode != 0:
                    result = "FAILURE"
                    break
            else:
                raise AssertionError(f"{name}: unexpected builder {step.tag}")
        self.history.append((name, number, result))
        return result

    def trigger(self, name: str, extra_env: dict | None = None) -> list[tuple[str, str]]:
        """Run `name` and, transitively, what its triggers start (environment jobs only)."""
        ran, queue = [], [name]
        while queue:
            job = queue.pop(0)
            result = self.run_job(job, extra_env)
            ran.append((job.rsplit("/", 1)[-1], result))
            queue += self.downstream(job, result)
        return ran


def _sim(workspace: Path, job_env: dict) -> SimJenkins:
    org_file = workspace / "delivery.yaml"
    data = yaml.safe_load(org_file.read_text())
    # Retain 2 instead of 5, so a handful of builds exercises gc.
    for variant in data["environments"]["variants"]:
        if variant["name"] == VARIANT:
            variant["retain"] = 2
    org_file.write_text(yaml.safe_dump(data, sort_keys=False))
    rendered = render_organisation(workspace).scopes[0].rendered.jobs
    jobs = {job.name: ET.fromstring(job.output()) for job in rendered
            if "/env-" in job.name and (f"-{VARIANT}-{RELEASE}-" in job.name or job.name.endswith(f"custom-{RELEASE}"))}
    return SimJenkins(workspace, job_env, jobs)


def _catalog(cli, capsys) -> dict:
    capsys.readouterr()
    assert cli("env", "list", "--json") == 0
    return json.loads(capsys.readouterr().out)


def _statuses(listing: dict) -> dict:
    return {t["version"]: t["status"] for t in listing["templates"]}


@pytest.mark.slow  # the generated build, verify, deploy and gc jobs' shell steps, run end to end
def test_environment_jobs_build_verify_deploy_gc(workspace, job_env, cli, capsys, tmp_path):
    sim = _sim(workspace, job_env)
    build = f"delivery/env-{VARIANT}-{RELEASE}-build"
    # The trigger chain the generated XML implies.
    assert sim.downstream(build, "SUCCESS") == [f"delivery/env-{VARIANT}-{RELEASE}-verify"]
    assert sim.downstream(build, "FAILURE") == []
    assert sim.downstream(f"delivery/env-{VARIANT}-{RELEASE}-verify", "FAILURE") == [
        f"delivery/env-{VARIANT}-{RELEASE}-gc"]

    chain = [(f"env-{VARIANT}-{RELEASE}-{stage}", "SUCCESS") for stage in ("build", "verify", "gc")]
    assert sim.trigger(build) == chain
    listing = _catalog(cli, capsys)
    assert _statuses(listing) == {1: "verified"}
    v1 = listing["templates"][0]
    assert v1["build"] == {"url": "https://jenkins.example.com/job/delivery/job/env-minimal-current-build/1/",
                           "job": build, "number": "1"}
    assert v1["artifacts"]["envtool"]["version"] == "1.0"
    assert v1["artifacts"]["auth-service"] == {"version": "1.0"}
    assert listing["environments"] == []  # build and verify tore theirs down

    # An engineer takes an environment from the newest verified template.
    assert cli("env", "deploy", "--variant", VARIANT, "--release", RELEASE) == 0
    out = capsys.readouterr().out
    deployed = _catalog(cli, capsys)["environments"]
    assert [e["template"] for e in deployed] == ["minimal-current-v1"]
    env_dir = Path(deployed[0]["access"]["path"])
    assert f"environment {deployed[0]['id']} is running" in out and str(env_dir) in out
    assert (env_dir / "auth-service" / "auth-service.service").read_text() == "auth-service running\n"
    (env_dir / "auth-service" / "auth-service.service").write_text("changed by the engineer\n")
    snapshot = Path(v1["detail"]["path"]) / "tree" / "auth-service" / "auth-service.service"
    assert snapshot.read_text() == "auth-service running\n"  # the template is untouched

    assert sim.trigger(build) == chain
    assert cli("env", "pin", "minimal-current-v2") == 0

    # A build whose validation fails registers nothing, leaves no environment and triggers no verify.
    assert sim.trigger(build, {"ENVTOOL_FAIL_CHECK": "1"}) == [(f"env-{VARIANT}-{RELEASE}-build", "FAILURE")]
    listing = _catalog(cli, capsys)
    assert _statuses(listing) == {1: "verified", 2: "verified"}
    assert len(listing["environments"]) == 1

    # A template that fails verification is marked failed, and the gc that follows deletes it.
    sim.run_job(build)
    assert sim.run_job(f"delivery/env-{VARIANT}-{RELEASE}-verify", {"ENVTOOL_FAIL_CHECK": "1"}) == "FAILURE"
    assert _statuses(_catalog(cli, capsys))[3] == "failed"
    capsys.readouterr()
    assert sim.trigger(f"delivery/env-{VARIANT}-{RELEASE}-gc") == [(f"env-{VARIANT}-{RELEASE}-gc", "SUCCESS")]
    assert 3 not in _statuses(_catalog(cli, capsys))

    for _ in range(3):
        assert sim.trigger(build) == chain
    # v6, v5 are the newest 2 verified; v2 is pinned; v1 backs the engineer's environment.
    assert _statuses(_catalog(cli, capsys)) == {1: "verified", 2: "verified", 5: "verified", 6: "verified"}
    gc_log = sim.history[-1]
    assert gc_log[0].endswith("-gc")

    assert cli("env", "gc", "--variant", VARIANT, "--release", RELEASE, "--keep", "2") == 0
    report = capsys.readouterr().out
    assert "kept minimal-current-v2 (minimal current v2, verified): pinned (golden)" in report
    assert f"kept minimal-current-v1 (minimal current v1, verified): in use by {deployed[0]['id']}" in report
    assert "kept minimal-current-v6 (minimal current v6, verified): newest verified" in report
    assert "kept minimal-current-v5 (minimal current v5, verified): among the newest 2 verified" in report

    # Once the engineer is done and the pin is gone, gc deletes both.
    assert cli("env", "destroy", deployed[0]["id"]) == 0
    assert not env_dir.exists()
    assert cli("env", "unpin", "minimal-current-v2") == 0
    capsys.readouterr()
    assert cli("env", "gc", "--variant", VARIANT, "--release", RELEASE, "--keep", "2") == 0
    report = capsys.readouterr().out
    assert "deleted minimal-current-v1 (minimal current v1, verified): older than the newest 2 verified" in report
    assert _statuses(_catalog(cli, capsys)) == {5: "verified", 6: "verified"}
    store = tmp_path / "store"
    assert sorted(p.name for p in (store / "templates").iterdir()) == ["minimal-current-v5", "minimal-current-v6"]
    assert list((store / "environments").iterdir()) == []
    assert list((store / "tmp").iterdir()) == []


def test_custom_environment_job(workspace, job_env, cli, capsys, tmp_path):
    sim = _sim(workspace, job_env)
    config_file = tmp_path / "mine.yaml"
    assert cli("env", "customize", "--from", VARIANT, "--release", RELEASE, "-o", config_file) == 0
    config = yaml.safe_load(config_file.read_text())
    assert config["release"] == RELEASE and config["provider"] == "local"
    assert [h["name"] for h in config["hosts"]][:2] == ["envtool", "auth-service"]
    # The engineer keeps two hosts and puts two services on the second.
    config["name"] = "alice"
    config["hosts"] = [config["hosts"][0], {**config["hosts"][1], "services": ["auth-service", "token-issuer"]}]
    text = yaml.safe_dump(config, sort_keys=False)

    custom = f"delivery/env-custom-{RELEASE}"
    assert sim.run_job(custom, parameters={"ENV_CONFIG": text}) == "SUCCESS"
    envs = _catalog(cli, capsys)["environments"]
    assert [(e["purpose"], e["template"]) for e in envs] == [("custom", None)]
    env_dir = Path(envs[0]["access"]["path"])
    assert sorted(p.name for p in env_dir.iterdir()) == ["auth-service", "environment.json", "envtool"]
    assert (env_dir / "auth-service" / "token-issuer.service").is_file()

    # A configuration for another release line is refused by this line's job.
    bad = text.replace(f"release: {RELEASE}", "release: previous")
    assert sim.run_job(custom, parameters={"ENV_CONFIG": bad}) == "FAILURE"
    assert len(_catalog(cli, capsys)["environments"]) == 1
