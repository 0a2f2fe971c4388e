"""The paper's loop, in ``jjb-envdelivery demo``: a commit to the provisioning tool's repository,
followed through the generated jobs from its CI job to verified environment templates.

The jobs run in the job runner, a test instrument beside the Jenkins REST emulator: it runs the
jobs this project generates, on this machine; it is not Jenkins. Everything else is real: git
repositories (stand-ins for the organisation's), the tool's own build and unit tests, a Debian
package unpacked onto "agents" (directories), and the local provider's environments and
templates on disk. Only the CLI may import the test instruments, hence this module's layer.
"""

from __future__ import annotations

import os
import sysconfig
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import naming
from ..environments.catalog import VERIFIED, Template
from ..environments.local import ROOT_ENV
from ..errors import EnvDeliveryError
from ..model.organisation import Organisation
from ..orchestration.demo import (
    commit_version_bump,
    local_templates,
    make_repositories,
    missing_prerequisites,
    referenced_credentials,
    service_ci_scm,
    write_credential_file,
)
from ..testing.job_runner import BuildRecord, JobRunner

AGENTS = ("agent-1", "agent-2")  # the "Jenkins agents" the tool's deliver job installs it on
DEPLOY_CREDENTIALS = "DEPLOY_CREDENTIALS"  # the deliver job's file binding (envdelivery-deliver-command-run)
FILE_BINDING = "org.jenkinsci.plugins.credentialsbinding.impl.FileBinding"


@dataclass
class LoopResult:
    service: str
    release: str
    version: str  # the version the demo committed
    builds: list[BuildRecord] = field(default_factory=list)
    templates: list[Template] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)  # the variants built on the release line
    agents: dict[str, list[str]] = field(default_factory=dict)  # agent directory -> files installed
    env_root: Path | None = None

    def newest(self, variant: str) -> Template | None:
        line = [t for t in self.templates if t.variant == variant and t.release == self.release]
        return max(line, key=lambda t: t.version, default=None)

    @property
    def ok(self) -> bool:
        """Every build succeeded and every variant's newest template is verified."""
        return bool(self.builds) and all(b.result == "SUCCESS" for b in self.builds) and all(
            (t := self.newest(v)) is not None and t.status == VERIFIED for v in self.variants)

    def to_json(self) -> dict:
        tool = self.service
        return {
            "service": tool, "release": self.release, "committed-version": self.version,
            "builds": [{"job": b.job, "number": b.number, "result": b.result, "duration": round(b.duration, 3)}
                       for b in self.builds],
            "templates": [{"id": t.id, "variant": t.variant, "release": t.release, "version": t.version,
                           "status": t.status, tool: t.artifacts.get(tool, {}).get("version")}
                          for t in self.templates],
            "agents": self.agents,
            "ok": self.ok,
        }


def check_prerequisites() -> None:
    missing = missing_prerequisites()
    if missing:
        raise EnvDeliveryError("demo: this machine lacks " + "; ".join(missing) +
                               " (on Debian or Ubuntu: apt-get install git dpkg)")


def deploy_credential(config_xml: str, job: str) -> str:
    """The ID of the secret file a deliver job binds to DEPLOY_CREDENTIALS (the agents' inventory)."""
    for binding in ET.fromstring(config_xml).iter(FILE_BINDING):
        if binding.findtext("variable") == DEPLOY_CREDENTIALS:
            return binding.findtext("credentialsId") or ""
    raise EnvDeliveryError(f"{job} binds no file credential to {DEPLOY_CREDENTIALS} "
                           "(deliver-command: run, deploy-credential-id)")


def agent_environment(env_root: Path) -> dict[str, str]:
    """What a build sees: this installation's scripts first on PATH (the environment jobs run
    jjb-envdelivery), and the local provider's root inside the demo's directory."""
    scripts = sysconfig.get_path("scripts")
    return {**os.environ, "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")]), ROOT_ENV: str(env_root)}


@dataclass
class DemoLoop:
    """The loop, ready to run: repositories, credentials, agents and the job runner."""

    org: Organisation
    service: str  # the provisioning tool's service
    release: str  # the release line the demo commits to
    branch: str
    url: str  # the service repository's URL
    jobs: dict[str, str]  # stage (ci, package, deliver) -> the service's job on the release line
    repo: Path  # the service's repository
    agent_dirs: list[Path]
    env_root: Path  # the local provider's root
    runner: JobRunner
    say: Callable[[str], None]

    def commit(self) -> str:
        """Commit the next version of the service to its branch and poll its CI job; returns the version."""
        version = commit_version_bump(self.repo, self.branch)
        self.say(f"committed {self.service} {version} to {self.branch} of {self.url}")
        if not self.runner.poll(self.jobs["ci"]):
            raise EnvDeliveryError(f"demo: polling {self.jobs['ci']} found no change after the commit")
        return version

    def result(self, version: str) -> LoopResult:
        envs = self.org.environments
        return LoopResult(
            service=self.service, release=self.release, version=version, builds=list(self.runner.builds),
            templates=local_templates(self.org, self.env_root), env_root=self.env_root,
            variants=[v.name for v in envs.variants if self.release in v.release_lines],
            agents={str(d): sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file())
                    for d in self.agent_dirs})


def why_no_loop(org: Organisation) -> str | None:
    """Why the loop cannot run for this organisation (None: it can)."""
    envs = org.environments
    if envs is None or envs.provider.name != "local":
        return (f"the loop builds environments with the local provider; {org.org_file.name} uses "
                f"{envs.provider.name if envs else 'no environments'}")
    source = org.org_dir / "services" / envs.provisioning_tool.service
    if not source.is_dir():
        return f"the loop commits to the provisioning tool's source, and {source} does not exist"
    return None


def prepare_loop(emulator, org: Organisation, work: Path, say: Callable[[str], None],
                 **runner_options) -> DemoLoop:
    """Local repositories for the jobs repository, every project and the provisioning tool, a
    credential file for every credential the pushed jobs reference, agent directories, and a job
    runner over the emulator's jobs; `runner_options` go to the JobRunner (agents, minute, env)."""
    reason = why_no_loop(org)
    if reason:
        raise EnvDeliveryError(f"demo: {reason}")
    envs = org.environments
    check_prerequisites()
    service = envs.provisioning_tool.service
    namespace = org.owner_of(service).namespace
    line = org.release_lines[0]
    jobs = {stage: naming.service_job_name(namespace, service, line.name, stage)
            for stage in naming.SERVICE_STAGES}
    configs = {name: emulator.job_config(name) for name in emulator.jobs()}
    url, _ = service_ci_scm(configs[jobs["ci"]], jobs["ci"])
    repos = make_repositories(org, service, url, work / "repos")
    agent_dirs = [work / "agents" / name for name in AGENTS]
    for directory in agent_dirs:
        directory.mkdir(parents=True)
    inventory = "".join(f"{directory}\n" for directory in agent_dirs)
    # The updater's credential in the root folder's store, as bootstrap asks of a real server.
    credentials = write_credential_file(work / "credentials.json", referenced_credentials(configs),
                                        {deploy_credential(configs[jobs["deliver"]], jobs["deliver"]): inventory},
                                        folders={org.updater.credential_id: org.root_folder})
    env_root = work / "environments"
    options = {"env": agent_environment(env_root), **runner_options}
    runner = JobRunner(emulator, work / "jenkins", remotes=repos.remotes, credentials=credentials, log=say,
                       **options)
    return DemoLoop(org=org, service=service, release=line.name, branch=line.branch, url=url, jobs=jobs,
                    repo=repos.service_repo, agent_dirs=agent_dirs, env_root=env_root, runner=runner, say=say)


def timeline(say: Callable[[str], None]) -> Callable[[str], None]:
    """The runner's event lines with the seconds since the loop began; a build's queueing is
    left out (the line of its start names its cause)."""
    start = time.monotonic()

    def line(text: str) -> None:
        if "] queued " not in text:
            say(f"{time.monotonic() - start:6.1f}s {text}")
    return line


def run_loop(emulator, org: Organisation, work: Path, say: Callable[[str], None]) -> LoopResult:
    """Commit a new version of the provisioning tool to the first release line's branch and run
    every build that follows, until the queue is empty, printing a timeline."""
    loop = prepare_loop(emulator, org, work, timeline(say))
    version = loop.commit()
    loop.runner.run_queue()
    return loop.result(version)


def report(result: LoopResult) -> str:
    """What the loop did, for a human: the builds, the templates, the agents."""
    lines = [f"\n{len(result.builds)} builds followed the commit of {result.service} {result.version}:"]
    lines += [f"  {b.job} #{b.number}: {b.result} ({b.duration:.1f}s)" for b in result.builds]
    lines.append(f"\ntemplates of release line {result.release} ({result.env_root}):")
    for variant in result.variants:
        template = result.newest(variant)
        if template is None:
            lines.append(f"  {variant}: none")
        else:
            tool = template.artifacts.get(result.service, {}).get("version", "?")
            lines.append(f"  {template.id}: {template.status} (built with {result.service} {tool})")
    lines.append(f"\n{result.service} delivered to the agents:")
    for agent, files in result.agents.items():
        lines.append(f"  {agent}: {', '.join(files) or 'nothing'}")
    return "\n".join(lines)
