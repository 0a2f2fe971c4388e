"""The example organisation's generated environment jobs, run as Jenkins would run them.

Jenkins is simulated from the generated XML itself, for what these jobs use: each job's builders
run in order in the job's workspace (a shell step with ``/bin/sh -xe -c`` under the job's
build-timeout, a CopyArtifact step as the copyartifact plugin runs it), then its ArtifactArchiver;
a finished job triggers the environment jobs whose reverse build trigger names it, when its
result meets the trigger's threshold, and the triggered build records its upstream cause. The
simulation refuses any builder, publisher or wrapper it does not implement. The provider is the
local one, rooted in tmp_path.

CopyArtifact, as copyartifact-plugin @ 937817258df3 runs it (src/main/java/hudson/plugins/copyartifact/):
``project`` is resolved from the copier's folder, ``/`` making it absolute (CopyArtifact.java:455-456,
Jenkins.getItem); a build running as SYSTEM may copy only what the source job's
CopyArtifactPermissionProperty grants it (CopyArtifact.java:580-617, CopyArtifactPermissionProperty.java:99-133;
``jenkins_names.copy_permitted``); StatusBuildSelector takes the newest build with result SUCCESS
(``stable``) or at least UNSTABLE (StatusBuildSelector.java:40-65); TriggeredBuildSelector the
upstream build of the source job among the build's causes, newest or oldest by
``upstreamFilterStrategy``, else the last successful build with ``fallbackToLastSuccessful``
(TriggeredBuildSelector.java:200-265); ``filter``/``excludes`` are Ant globs, ``flatten`` drops
directories, no file copied fails the step (CopyArtifact.java:523-534, 684, 719).
ArtifactArchiver with ``onlyIfSuccessful`` skips results worse than UNSTABLE; an empty archive
fails the build unless ``allowEmptyArchive`` (core ArtifactArchiver.java:82-121, 245).
"""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.jenkins_names import ItemIndex, copy_permitted, split_names
from jjb_envdelivery.orchestration.checked_render import render_organisation

RANK = {"SUCCESS": 3, "UNSTABLE": 2, "FAILURE": 1}
VARIANT, RELEASE = "minimal", "current"
BUILD, VERIFY, GC = (f"delivery/env-{VARIANT}-{RELEASE}-{stage}" for stage in ("build", "verify", "gc"))
TOOL_CI = f"platform/envtool-{RELEASE}-ci"
COPY = "hudson.plugins.copyartifact."
IMPLEMENTED_WRAPPERS = {"hudson.plugins.timestamper.TimestamperBuildWrapper",
                        "hudson.plugins.build__timeout.BuildTimeoutWrapper"}


def ant_regex(pattern: str) -> re.Pattern:
    """An Ant glob (``**`` any path, ``*`` and ``?`` within one name) as a regex."""
    parts = re.split(r"(\*\*/?|\*|\?)", pattern.strip())
    regex = "".join({"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(p, re.escape(p)) for p in parts)
    return re.compile(regex)


def ant_match(path: str, globs: str) -> bool:
    return any(ant_regex(g).fullmatch(path) for g in globs.split(",") if g.strip())


@dataclass
class Build:
    job: str
    number: int
    result: str
    causes: list  # (upstream job, number)
    artifacts: dict = field(default_factory=dict)  # relative path -> bytes
    copied: list = field(default_factory=list)  # (source job, number, [files])


class StepFailed(Exception):
    """A build step failed; the message is what the console log would say."""


@dataclass
class SimJenkins:
    root: Path  # one workspace per job under it, as Jenkins keeps them
    checkout: Path  # the jobs repository at the commit every job checks out
    env: dict
    jobs: dict  # name -> parsed config.xml
    builds: list = field(default_factory=list)

    def workspace(self, name: str) -> Path:
        """The job's workspace, holding the jobs repository's files (links to them here). It
        outlives builds: a checkout refreshes tracked files only, so .envdelivery stays."""
        ws = self.root / name.replace("/", "_")
        if not ws.exists():
            ws.mkdir(parents=True)
            for item in self.checkout.iterdir():
                if item.name != ".envdelivery":  # untracked: the tests' fixture put a tool there
                    (ws / item.name).symlink_to(item)
        return ws

    def history(self, job: str) -> list[Build]:
        return [b for b in self.builds if b.job == job]

    def record(self, job: str, result: str, artifacts: dict) -> Build:
        """A build of a job this simulation does not run (the tool's CI job)."""
        build = Build(job, len(self.history(job)) + 1, result, [], artifacts)
        self.builds.append(build)
        return build

    def downstream(self, name: str, result: str) -> list[str]:
        """Env jobs whose reverse build trigger fires on `name` finishing with `result`. Each
        upstream name is resolved from the downstream job's folder (Items.fromNameList, core
        ReverseBuildTrigger.java:173; ``/`` absolute), not compared as text."""
        index = ItemIndex((job, False) for job in self.jobs)
        fired = []
        for other, root in self.jobs.items():
            for trigger in root.iter("jenkins.triggers.ReverseBuildTrigger"):
                upstream = [index.resolve(u, other)[0] for u in split_names(trigger.findtext("upstreamProjects"))]
                threshold = trigger.findtext("threshold/name")
                if (name, False) in upstream and RANK[result] >= RANK[threshold]:
                    fired.append(other)
        return fired

    # -- copyartifact -------------------------------------------------------------------------
    def _select(self, source: str, selector: ET.Element, causes: list) -> Build | None:
        done = self.history(source)
        kind = selector.get("class").rsplit(".", 1)[-1]
        if kind == "StatusBuildSelector":
            floor = RANK["SUCCESS"] if selector.findtext("stable") == "true" else RANK["UNSTABLE"]
            return next((b for b in reversed(done) if RANK[b.result] >= floor), None)
        if kind == "TriggeredBuildSelector":
            numbers = [number for job, number in causes if job == source]
            if numbers:
                pick = max if selector.findtext("upstreamFilterStrategy") == "UseNewest" else min
                return done[pick(numbers) - 1]
            if selector.findtext("fallbackToLastSuccessful") == "true":
                return next((b for b in reversed(done) if b.result == "SUCCESS"), None)
            return None
        raise AssertionError(f"selector {kind} is not simulated")

    def _copy(self, build: Build, step: ET.Element, ws: Path) -> None:
        project = step.findtext("project")
        found, _ = ItemIndex((name, False) for name in self.jobs).resolve(project, build.job)
        if found is None:
            raise StepFailed(f"Unable to find project for artifact copy: {project}")
        source = found[0]
        grants = self.jobs[source].find(f"properties/{COPY}CopyArtifactPermissionProperty")
        allowed = [s.text for s in grants.findall("projectNameList/string")] if grants is not None else []
        if not copy_permitted(allowed, build.job, source):  # production mode, builds run as SYSTEM
            raise StepFailed(f"Unable to find project for artifact copy: {project}")
        chosen = self._select(source, step.find("selector"), build.causes)
        if chosen is None:
            raise StepFailed(f"Unable to find a build for artifact copy from: {project}")
        wanted = step.findtext("filter") or "**"
        excludes = step.findtext("excludes") or ""
        files = sorted(p for p in chosen.artifacts if ant_match(p, wanted) and not ant_match(p, excludes))
        if not files:
            raise StepFailed(f"Failed to copy artifacts from {source} with filter: {wanted}")
        target = ws / (step.findtext("target") or "")
        for path in files:
            dest = target / (Path(path).name if step.findtext("flatten") == "true" else path)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(chosen.artifacts[path])
            dest.chmod(0o755)  # the artifact manager keeps the file mode
        build.copied.append((source, chosen.number, [Path(p).name for p in files]))

    # -- a build ------------------------------------------------------------------------------
    def run_job(self, name: str, extra_env: dict | None = None, parameters: dict | None = None,
                causes: list | None = None) -> str:
        config = self.jobs[name]
        build = Build(name, len(self.history(name)) + 1, "SUCCESS", list(causes or []))
        ws = self.workspace(name)
        env = {**self.env, **(extra_env or {}), **(parameters or {}), "JOB_NAME": name,
               "BUILD_NUMBER": str(build.number),
               "BUILD_URL": f"https://jenkins.example.com/job/{name.replace('/', '/job/')}/{build.number}/",
               "WORKSPACE": str(ws)}
        wrappers = {w.tag: w for w in config.find("buildWrappers")}
        assert set(wrappers) <= IMPLEMENTED_WRAPPERS, f"{name}: wrappers not simulated: {set(wrappers)}"
        minutes = int(config.findtext("buildWrappers/hudson.plugins.build__timeout.BuildTimeoutWrapper"
                                      "/strategy/timeoutMinutes"))
        try:
            for step in config.find("builders"):
                if step.tag == f"{COPY}CopyArtifact":
                    self._copy(build, step, ws)
                elif step.tag == "hudson.tasks.Shell":
                    done = subprocess.run(["/bin/sh", "-xe", "-c", step.findtext("command")], cwd=ws, env=env,
                                          capture_output=True, text=True, timeout=minutes * 60)
                    print(done.stdout, done.stderr)
                    if done.returncode != 0:
                        raise StepFailed(f"shell step exited with {done.returncode}")
                else:
                    raise AssertionError(f"{name}: builder {step.tag} is not simulated")
        except StepFailed as exc:
            print(f"{name} #{build.number}: {exc}")
            build.result = "FAILURE"
        for publisher in config.find("publishers"):
            assert publisher.tag == "hudson.tasks.ArtifactArchiver", f"{name}: {publisher.tag} is not simulated"
            if publisher.findtext("onlyIfSuccessful") == "true" and RANK[build.result] < RANK["UNSTABLE"]:
                continue
            globs = publisher.findtext("artifacts")
            found = {p.relative_to(ws).as_posix(): p.read_bytes() for p in sorted(ws.rglob("*"))
                     if p.is_file() and not p.is_symlink() and ant_match(p.relative_to(ws).as_posix(), globs)}
            if not found and publisher.findtext("allowEmptyArchive") != "true":
                build.result = "FAILURE"
            build.artifacts.update(found)
        self.builds.append(build)
        return build.result

    def trigger(self, name: str, extra_env: dict | None = None) -> list[tuple[str, str]]:
        """Run `name` and, transitively, what its triggers start (environment jobs only)."""
        ran, queue = [], [(name, [])]
        while queue:
            job, causes = queue.pop(0)
            result = self.run_job(job, extra_env, causes=causes)
            ran.append((job.rsplit("/", 1)[-1], result))
            number = self.history(job)[-1].number
            queue += [(other, [(job, number)]) for other in self.downstream(job, result)]
        return ran


def tool_artifact(tool_bin: Path, version: str) -> bytes:
    """The tool's CI artifact (envtool-<version>.tar.gz): an executable that logs which version ran,
    then runs the stand-in tool, so that a test sees which copy of the tool a job used."""
    return (f'#!/bin/sh\necho "{version} $1" >> "$ENVTOOL_LOG"\n'
            f'exec "{tool_bin / "envtool"}" "$@"\n').encode()


def _sim(workspace: Path, job_env: dict, tool_bin: Path, tmp_path: Path) -> SimJenkins:
    org_file = workspace / "delivery.yaml"
    data = yaml.safe_load(org_file.read_text())
    # Retain 2 instead of 5, so a handful of builds exercises gc.
    for variant in data["environments"]["variants"]:
        if variant["name"] == VARIANT:
            variant["retain"] = 2
    org_file.write_text(yaml.safe_dump(data, sort_keys=False))
    rendered = [job for scope in render_organisation(workspace).scopes for job in scope.rendered.jobs]
    jobs = {job.name: ET.fromstring(job.output()) for job in rendered
            if job.name == TOOL_CI or "/env-" in job.name and (
                f"-{VARIANT}-{RELEASE}-" in job.name or job.name.endswith(f"custom-{RELEASE}"))}
    env = {**job_env, "ENVTOOL_LOG": str(tmp_path / "envtool.log")}
    sim = SimJenkins(tmp_path / "jenkins-workspaces", workspace, env, jobs)
    sim.record(TOOL_CI, "SUCCESS", {"dist/envtool-1.0.tar.gz": tool_artifact(tool_bin, "1.0")})
    return sim


def tool_log(sim: SimJenkins) -> list[str]:
    path = Path(sim.env["ENVTOOL_LOG"])
    lines = path.read_text().splitlines() if path.exists() else []
    path.unlink(missing_ok=True)
    return lines


def _catalog(cli, capsys) -> dict:
    capsys.readouterr()
    assert cli("env", "list", "--json") == 0
    return json.loads(capsys.readouterr().out)


def _statuses(listing: dict) -> dict:
    return {t["version"]: t["status"] for t in listing["templates"]}


@pytest.mark.slow  # the generated build, verify, deploy and gc jobs' shell steps, run end to end
def test_environment_jobs_build_verify_deploy_gc(workspace, job_env, tool_bin, cli, capsys, tmp_path):
    sim = _sim(workspace, job_env, tool_bin, tmp_path)
    # The trigger chain the generated XML implies.
    assert sim.downstream(BUILD, "SUCCESS") == [VERIFY]
    assert sim.downstream(BUILD, "FAILURE") == []
    assert sim.downstream(VERIFY, "FAILURE") == [GC]

    chain = [(f"env-{VARIANT}-{RELEASE}-{stage}", "SUCCESS") for stage in ("build", "verify", "gc")]
    assert sim.trigger(BUILD) == chain
    listing = _catalog(cli, capsys)
    assert _statuses(listing) == {1: "verified"}
    v1 = listing["templates"][0]
    assert v1["build"] == {"url": "https://jenkins.example.com/job/delivery/job/env-minimal-current-build/1/",
                           "job": BUILD, "number": "1"}
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

    assert sim.trigger(BUILD) == chain
    assert cli("env", "pin", "minimal-current-v2") == 0

    # A build whose validation fails registers nothing, leaves no environment and triggers no verify.
    assert sim.trigger(BUILD, {"ENVTOOL_FAIL_CHECK": "1"}) == [(f"env-{VARIANT}-{RELEASE}-build", "FAILURE")]
    listing = _catalog(cli, capsys)
    assert _statuses(listing) == {1: "verified", 2: "verified"}
    assert len(listing["environments"]) == 1

    # A template that fails verification is marked failed, and the gc that follows deletes it.
    sim.run_job(BUILD)
    assert sim.run_job(VERIFY, {"ENVTOOL_FAIL_CHECK": "1"}) == "FAILURE"
    assert _statuses(_catalog(cli, capsys))[3] == "failed"
    capsys.readouterr()
    assert sim.trigger(GC) == [(f"env-{VARIANT}-{RELEASE}-gc", "SUCCESS")]
    assert 3 not in _statuses(_catalog(cli, capsys))

    for _ in range(3):
        assert sim.trigger(BUILD) == chain
    # v6, v5 are the newest 2 verified; v2 is pinned; v1 backs the engineer's environment.
    assert _statuses(_catalog(cli, capsys)) == {1: "verified", 2: "verified", 5: "verified", 6: "verified"}
    assert sim.builds[-1].job == GC

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


def test_each_job_runs_the_tool_it_copied(workspace, job_env, tool_bin, cli, capsys, tmp_path):
    """Issue 13, defect 7: tool files an earlier build left in the workspace are never used; the
    build takes the last stable CI build of the tool; verify runs the tool the template was built
    with, even after a newer tool passed CI."""
    sim = _sim(workspace, job_env, tool_bin, tmp_path)
    # A CI build whose tests failed (UNSTABLE) is not taken; nor is anything left in the workspace.
    sim.record(TOOL_CI, "UNSTABLE", {"dist/envtool-1.1.tar.gz": tool_artifact(tool_bin, "1.1")})
    stale = sim.workspace(BUILD) / ".envdelivery" / "tool"
    stale.mkdir(parents=True)
    for version in ("0.9", "2.0"):
        (stale / f"envtool-{version}.tar.gz").write_bytes(tool_artifact(tool_bin, version))

    assert sim.run_job(BUILD) == "SUCCESS"
    build = sim.history(BUILD)[-1]
    assert build.copied == [(TOOL_CI, 1, ["envtool-1.0.tar.gz"])]
    assert list(build.artifacts) == [".envdelivery/tool/envtool-1.0.tar.gz"]  # what verify will copy
    assert tool_log(sim) == ["1.0 provision", "1.0 check"]
    (template,) = _catalog(cli, capsys)["templates"]
    assert template["artifacts"]["envtool"]["version"] == "1.0"

    # A newer tool passes CI before verify runs: verify still takes the build's tool.
    sim.record(TOOL_CI, "SUCCESS", {"dist/envtool-1.2.tar.gz": tool_artifact(tool_bin, "1.2")})
    assert sim.run_job(VERIFY, causes=[(BUILD, build.number)]) == "SUCCESS"
    assert sim.history(VERIFY)[-1].copied == [(BUILD, 1, ["envtool-1.0.tar.gz"])]
    assert tool_log(sim) == ["1.0 check"]
    assert _statuses(_catalog(cli, capsys)) == {1: "verified"}

    # The next build takes 1.2 from CI; verify started by hand falls back to the last successful build.
    assert sim.run_job(BUILD) == "SUCCESS"
    assert sim.history(BUILD)[-1].copied == [(TOOL_CI, 3, ["envtool-1.2.tar.gz"])]
    assert sorted(p.name for p in stale.iterdir()) == ["envtool-1.2.tar.gz"]
    tool_log(sim)
    assert sim.run_job(VERIFY) == "SUCCESS"
    assert sim.history(VERIFY)[-1].copied == [(BUILD, 2, ["envtool-1.2.tar.gz"])]
    assert tool_log(sim) == ["1.2 check"]


def test_a_workspace_with_two_tools_is_refused(workspace, cli, capsys):
    """The env commands take exactly one tool file: two mean the directory was not emptied, and
    either could run (the defect: the tool silently ran the higher version)."""
    tool_dir = workspace / ".envdelivery" / "tool"
    (tool_dir / "envtool-2.0.tar.gz").write_bytes(b"envtool 2.0")
    assert cli("env", "build", "--org-file", "delivery.yaml", "--variant", VARIANT, "--release", RELEASE) == 1
    err = capsys.readouterr().err
    assert "2 provisioning tool artifacts match 'dist/envtool-*.tar.gz'" in err
    assert "envtool-1.0.tar.gz, envtool-2.0.tar.gz; expected exactly one" in err


def test_custom_environment_job(workspace, job_env, tool_bin, cli, capsys, tmp_path):
    sim = _sim(workspace, job_env, tool_bin, tmp_path)
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
    assert sim.history(custom)[-1].copied == [(TOOL_CI, 1, ["envtool-1.0.tar.gz"])]
    envs = _catalog(cli, capsys)["environments"]
    assert [(e["purpose"], e["template"]) for e in envs] == [("custom", None)]
    env_dir = Path(envs[0]["access"]["path"])
    assert sorted(p.name for p in env_dir.iterdir()) == ["auth-service", "environment.json", "envtool"]
    assert (env_dir / "auth-service" / "token-issuer.service").is_file()

    # A configuration for another release line is refused by this line's job.
    bad = text.replace(f"release: {RELEASE}", "release: previous")
    assert sim.run_job(custom, parameters={"ENV_CONFIG": bad}) == "FAILURE"
    assert len(_catalog(cli, capsys)["environments"]) == 1
