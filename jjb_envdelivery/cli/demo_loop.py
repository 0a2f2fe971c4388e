"""The paper's loop, in ``jjb-envdelivery demo``: a commit to one service's repository, followed
through the generated jobs from its CI job to verified environment templates.

The jobs run in the job runner, a test instrument beside the Jenkins REST emulator: it runs the
jobs this project generates, on this machine; it is not Jenkins. Everything else is real: git
repositories (stand-ins for the organisation's), the services' own builds and unit tests, and
the provider's environments and templates. Only the CLI may import the test instruments, hence
this module's layer.

Two providers can run the loop:

- ``local`` (examples/example-org): the commit is to the provisioning tool; its package is a
  Debian package unpacked onto "agents" (directories); environments are directories.
- ``container`` (examples/container-org): the commit is to the first service, in the org file's
  order, whose source (services/<service>) has a Containerfile. Before it, every service with a
  source goes through its CI, package and deliver jobs once, with the environment build jobs
  disabled (the organisation's earlier deliveries: the registry must hold every image before an
  environment can pull them); then the commit's image reaches the registry, templates of running
  containers are built and verified, and the newest is deployed as an engineer would
  (``jjb-envdelivery env deploy``), asked over HTTP, and destroyed. The registry, base image and
  host settings are orchestration/demo_containers.py's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

from .. import naming
from ..environments.catalog import VERIFIED, Template
from ..environments.containers.provider import ROOT_LABEL, VERSION_LABEL
from ..errors import EnvDeliveryError
from ..model.loader import load_organisation
from ..model.organisation import Organisation
from ..orchestration import demo_containers as containers
from ..orchestration.demo import (
    commit_version_bump,
    make_repositories,
    missing_prerequisites,
    provider_at,
    provider_templates,
    referenced_credentials,
    root_variable,
    service_ci_scm,
    service_source,
    version_file,
    write_credential_file,
)
from ..testing.job_runner import BuildRecord, JobRunner

AGENTS = ("agent-1", "agent-2")  # the "Jenkins agents" a deliver job's inventory lists
DEPLOY_CREDENTIALS = "DEPLOY_CREDENTIALS"  # the deliver job's file binding (envdelivery-deliver-command-run)
FILE_BINDING = "org.jenkinsci.plugins.credentialsbinding.impl.FileBinding"
LOOP_PROVIDERS = ("local", "container")
ENV_ROOT = "environments"  # the provider's catalog, in the demo's directory
HTTP_TIMEOUT = 10.0


@dataclass
class LoopResult:
    service: str
    release: str
    version: str  # the version the demo committed
    builds: list[BuildRecord] = field(default_factory=list)  # what followed the commit
    earlier: list[BuildRecord] = field(default_factory=list)  # the earlier deliveries (container)
    templates: list[Template] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)  # the variants built on the release line
    agents: dict[str, list[str]] = field(default_factory=dict)  # agent directory -> files installed
    env_root: Path | None = None
    registry: dict = field(default_factory=dict)  # container: the service's image in the registry
    deployed: dict = field(default_factory=dict)  # container: the engineer's environment
    engine_label: str = ""  # container: the label (key=value) of every engine object of the demo's catalog
    problems: list[str] = field(default_factory=list)  # checks that failed, for a human

    def newest(self, variant: str) -> Template | None:
        line = [t for t in self.templates if t.variant == variant and t.release == self.release]
        return max(line, key=lambda t: t.version, default=None)

    def carries(self, template: Template | None) -> bool:
        """The template's bill of materials has the committed version of the service."""
        return template is not None and template.artifacts.get(self.service, {}).get("version") == self.version

    @property
    def ok(self) -> bool:
        """Every build succeeded, every variant's newest template is verified and carries the
        committed version, and every other check passed."""
        return bool(self.builds) and all(b.result == "SUCCESS" for b in self.earlier + self.builds) and all(
            (t := self.newest(v)) is not None and t.status == VERIFIED and self.carries(t)
            for v in self.variants) and not self.problems

    def to_json(self) -> dict:
        service = self.service
        data = {
            "service": service, "release": self.release, "committed-version": self.version,
            "builds": [_build_json(b) for b in self.builds],
            "templates": [{"id": t.id, "variant": t.variant, "release": t.release, "version": t.version,
                           "status": t.status, service: t.artifacts.get(service, {}).get("version")}
                          for t in self.templates],
            "agents": self.agents,
            "ok": self.ok,
        }
        if self.earlier:
            data["earlier-builds"] = [_build_json(b) for b in self.earlier]
        for key, value in (("registry", self.registry), ("deployed", self.deployed),
                           ("engine-label", self.engine_label), ("problems", self.problems)):
            if value:
                data[key] = value
        return data


def _build_json(build: BuildRecord) -> dict:
    return {"job": build.job, "number": build.number, "result": build.result, "duration": round(build.duration, 3)}


# --- which organisations can run the loop ------------------------------------------------------

def uses_containers(org: Organisation) -> bool:
    return org.environments is not None and org.environments.provider.name == "container"


def sourced_services(org: Organisation) -> list[str]:
    """The services whose source the organisation directory holds (services/<service>), in the
    org file's order: the demo makes a repository for each."""
    return [s for p in org.projects for s in p.services if service_source(org, s).is_dir()]


def image_services(org: Organisation) -> list[str]:
    """The services with a source and a Containerfile: the images the demo builds."""
    return [s for s in sourced_services(org) if containers.containerfile(org, s).is_file()]


def loop_service(org: Organisation, service: str | None = None) -> str | None:
    """The service the demo commits to: `service` when given, else the provisioning tool (local
    provider) or the first service with a Containerfile (container provider); None when there
    is none."""
    if service is not None:
        return service
    if not uses_containers(org):
        return org.environments.provisioning_tool.service
    return next(iter(image_services(org)), None)


def why_no_loop(org: Organisation, service: str | None = None) -> str | None:
    """Why the loop cannot run for this organisation, committing to `service` or the default
    one (loop_service); None: it can."""
    envs = org.environments
    if envs is None or envs.provider.name not in LOOP_PROVIDERS:
        return (f"the loop builds environments with the local or the container provider; {org.org_file.name} uses "
                f"{envs.provider.name if envs else 'no environments'}")
    tool = service_source(org, envs.provisioning_tool.service)
    if not tool.is_dir():
        return f"the loop commits to the provisioning tool's source, and {tool} does not exist" \
            if not uses_containers(org) else \
            f"the environment jobs run the provisioning tool built from its source, and {tool} does not exist"
    chosen = loop_service(org, service)
    if chosen is None:
        return f"the loop commits to the first service with a Containerfile, and {org.org_dir / 'services'} has none"
    if chosen not in sourced_services(org):
        return f"the loop commits to {chosen}'s source, and {service_source(org, chosen)} is not a service's source"
    if version_file(service_source(org, chosen)) is None:
        return (f"the loop raises {chosen}'s version, and {service_source(org, chosen)} says none "
                "('ENV SERVICE_VERSION=X.Y.Z' in its Containerfile, or '__version__ = \"X.Y.Z\"')")
    return _why_no_images(org) if uses_containers(org) else None


def _why_no_images(org: Organisation) -> str | None:
    """Why the demo cannot build the organisation's images: it provides BusyBox base images in
    the provider's registry, nothing else."""
    images = image_services(org)
    if not containers.base_images(org, images):
        return f"the demo builds the images' base image, and no Containerfile of {', '.join(images)} names one"
    foreign = containers.foreign_base_images(org, images)
    if foreign:
        return (f"the demo provides only BusyBox base images in the provider's registry, and the "
                f"Containerfiles build FROM {', '.join(foreign)}")
    return None


def check_prerequisites(org: Organisation | None = None) -> None:
    missing = missing_prerequisites()
    install = "apt-get install git dpkg"
    if org is not None and uses_containers(org):
        missing += containers.missing_prerequisites()
        install += f"; {containers.INSTALL}"
    if missing:
        raise EnvDeliveryError("demo: this machine lacks " + "; ".join(missing) +
                               f" (on Debian or Ubuntu: {install})")


# --- the pieces of a loop ----------------------------------------------------------------------

def deploy_credential(config_xml: str) -> str | None:
    """The ID of the secret file a deliver job binds to DEPLOY_CREDENTIALS (the agents'
    inventory), or None when it binds none."""
    for binding in ET.fromstring(config_xml).iter(FILE_BINDING):
        if binding.findtext("variable") == DEPLOY_CREDENTIALS:
            return binding.findtext("credentialsId") or None
    return None


def agent_environment(org: Organisation, env_root: Path, bin_dirs: list[Path]) -> dict[str, str]:
    """What a build sees: `bin_dirs` and this installation's scripts first on PATH (the
    environment jobs run jjb-envdelivery), and the provider's root inside the demo's directory."""
    scripts = sysconfig.get_path("scripts")
    path = os.pathsep.join([*map(str, bin_dirs), scripts, os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, root_variable(org): str(env_root)}


def stage_jobs(org: Organisation, service: str, release: str) -> dict[str, str]:
    """Stage (ci, package, deliver) -> the service's job on the release line."""
    namespace = org.owner_of(service).namespace
    return {stage: naming.service_job_name(namespace, service, release, stage) for stage in naming.SERVICE_STAGES}


@dataclass
class DemoLoop:
    """The loop, ready to run: repositories, credentials, agents and the job runner."""

    org: Organisation
    service: str  # the service the demo commits to
    release: str  # the release line the demo commits to
    branch: str
    url: str  # the service repository's URL
    jobs: dict[str, str]  # stage (ci, package, deliver) -> the service's job on the release line
    repo: Path  # the service's repository
    agent_dirs: list[Path]
    env_root: Path  # the provider's root
    runner: JobRunner
    say: Callable[[str], None]
    services: dict[str, dict[str, str]] = field(default_factory=dict)  # every service with a repository -> jobs

    def commit(self) -> str:
        """Commit the next version of the service to its branch and poll its CI job; returns the version."""
        version = commit_version_bump(self.repo, self.branch)
        self.say(f"committed {self.service} {version} to {self.branch} of {self.url}")
        if not self.runner.poll(self.jobs["ci"]):
            raise EnvDeliveryError(f"demo: polling {self.jobs['ci']} found no change after the commit")
        return version

    def variants(self) -> list[str]:
        return [v.name for v in self.org.environments.variants if self.release in v.release_lines]

    def result(self, version: str, earlier: int = 0) -> LoopResult:
        """The loop's outcome; the first `earlier` builds were the earlier deliveries."""
        builds = list(self.runner.builds)
        return LoopResult(
            service=self.service, release=self.release, version=version, builds=builds[earlier:],
            earlier=builds[:earlier], templates=provider_templates(self.org, self.env_root), env_root=self.env_root,
            variants=self.variants(),
            agents={str(d): sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file())
                    for d in self.agent_dirs})


def prepare_loop(emulator, org: Organisation, work: Path, say: Callable[[str], None], service: str | None = None,
                 **runner_options) -> DemoLoop:
    """Local repositories for the jobs repository, every project and every service with a
    source, a credential file for every credential the pushed jobs reference, agent directories
    when a deliver job installs on agents, and a job runner over the emulator's jobs;
    `service` is the one to commit to (default: loop_service's); `runner_options` go to the
    JobRunner (agents, minute, env)."""
    reason = why_no_loop(org, service)
    if reason:
        raise EnvDeliveryError(f"demo: {reason}")
    check_prerequisites(org)
    service = loop_service(org, service)
    line = org.release_lines[0]
    services = {s: stage_jobs(org, s, line.name) for s in sourced_services(org)}
    configs = {name: emulator.job_config(name) for name in emulator.jobs()}
    urls = {s: service_ci_scm(configs[jobs["ci"]], jobs["ci"])[0] for s, jobs in services.items()}
    repos = make_repositories(org, urls, work / "repos")
    inventories = {c for jobs in services.values() if (c := deploy_credential(configs[jobs["deliver"]]))}
    agent_dirs = [work / "agents" / name for name in AGENTS] if inventories else []
    for directory in agent_dirs:
        directory.mkdir(parents=True)
    inventory = "".join(f"{directory}\n" for directory in agent_dirs)
    # The updater's credential in the root folder's store, as bootstrap asks of a real server.
    credentials = write_credential_file(work / "credentials.json", referenced_credentials(configs),
                                        {credential: inventory for credential in inventories},
                                        folders={org.updater.credential_id: org.root_folder})
    env_root = work / ENV_ROOT
    bin_dirs = [containers.docker_is_podman(work / "agent-bin")] if uses_containers(org) else []
    options = {"env": agent_environment(org, env_root, bin_dirs), **runner_options}
    runner = JobRunner(emulator, work / "jenkins", remotes=repos.remotes, credentials=credentials, log=say,
                       **options)
    return DemoLoop(org=org, service=service, release=line.name, branch=line.branch, url=urls[service],
                    jobs=services[service], repo=repos.services[service], agent_dirs=agent_dirs, env_root=env_root,
                    runner=runner, say=say, services=services)


def timeline(say: Callable[[str], None]) -> Callable[[str], None]:
    """The runner's event lines with the seconds since the loop began; a build's queueing is
    left out (the line of its start names its cause)."""
    start = time.monotonic()

    def line(text: str) -> None:
        if "] queued " not in text:
            say(f"{time.monotonic() - start:6.1f}s {text}")
    return line


def run_loop(emulator, org: Organisation, work: Path, say: Callable[[str], None], *, service: str | None = None,
             admin: tuple[str, str] | None = None, keep: bool = False) -> LoopResult:
    """Commit a new version of the loop's service to the first release line's branch and run
    every build that follows, until the queue is empty, printing a timeline. The container loop
    delivers every service first and ends with an engineer's deploy; `admin` (user, API token)
    disables and enables jobs over the REST API, `keep` leaves the deployed environment running."""
    loop = prepare_loop(emulator, org, work, timeline(say), service=service)
    if not uses_containers(org):
        version = loop.commit()
        loop.runner.run_queue()
        return loop.result(version)
    return run_container_loop(loop, Jenkins(emulator.url, admin), say, keep)


# --- the container loop ------------------------------------------------------------------------

@contextmanager
def container_host(org: Organisation, work: Path, say: Callable[[str], None]) -> Iterator[Organisation]:
    """What the container loop needs on this machine, for as long as the block runs: a registry
    on loopback, a copy of the organisation naming it (yielded), the base images in it, and the
    engine's settings for this host. On the way out, everything the provider's catalog still
    holds is removed, and the images pulled from the registry."""
    with containers.loopback_registry(work / "registry", say) as address:
        copy = containers.copy_with_registry(org.org_dir, work / "org", address)
        say(f"the organisation, naming that registry instead of {containers.DEFAULT_REGISTRY}: {copy}")
        demo_org = load_organisation(copy / org.org_file.name)
        with containers.environment_variables(containers.registries_conf(work / "registries.conf", address)):
            images = containers.base_images(demo_org, image_services(demo_org))
            containers.publish_base_images(images, say)
            with containers.environment_variables(containers.host_settings(images[0], work, say)):
                try:
                    yield demo_org
                finally:
                    _clean_host(demo_org, work, address, say)


def _clean_host(org: Organisation, work: Path, address: str, say: Callable[[str], None]) -> None:
    """Remove the demo's environments, templates and pulled images; a failure is said, not
    raised, so that it does not hide why the demo is ending."""
    try:
        removed = containers.clean_environments(org, work / ENV_ROOT) if (work / ENV_ROOT).is_dir() else []
        images = containers.remove_images(f"{address}/")
    except (EnvDeliveryError, OSError) as exc:
        say(f"warning: the demo could not remove all it made with podman (see `podman ps -a`, `podman images`): {exc}")
        return
    say(f"removed {len(removed)} templates and environments of the demo's catalog, and {len(images)} images "
        f"pulled from {address}")

@dataclass
class Jenkins:
    """The REST calls the demo makes as an administrator would (here, to the emulator)."""

    url: str
    auth: tuple[str, str] | None

    def set_enabled(self, job: str, enabled: bool) -> None:
        """``POST job/.../enable|disable``: a disabled job's upstreams skip it."""
        path = "".join(f"job/{quote(part, safe='')}/" for part in job.split("/"))
        answer = requests.post(f"{self.url}{path}{'enable' if enabled else 'disable'}", auth=self.auth,
                               timeout=HTTP_TIMEOUT, allow_redirects=False)
        if answer.status_code >= 400:
            action = "enabling" if enabled else "disabling"
            raise EnvDeliveryError(f"demo: {action} {job} answered {answer.status_code}")


@contextmanager
def disabled(jenkins: Jenkins, jobs: list[str]) -> Iterator[None]:
    """`jobs` disabled until the block ends."""
    for job in jobs:
        jenkins.set_enabled(job, False)
    try:
        yield
    finally:
        for job in jobs:
            jenkins.set_enabled(job, True)


def deliver_everything(loop: DemoLoop, jenkins: Jenkins) -> list[BuildRecord]:
    """The organisation's earlier deliveries: every service's CI, package and deliver jobs on the
    release line, with the environment build jobs disabled, so that no environment is built from
    a registry that does not yet hold every image."""
    builds = [naming.env_job_name(loop.org, v, loop.release, "build") for v in loop.variants()]
    loop.say(f"the organisation's earlier deliveries: {', '.join(loop.services)} through CI, package and "
             f"deliver, with {', '.join(builds)} disabled")
    with disabled(jenkins, builds):
        for jobs in loop.services.values():
            loop.runner.poll(jobs["ci"])
        return loop.runner.run_queue()


def registry_repository(org: Organisation, service: str) -> tuple[str, str]:
    """The registry's address and the service's repository in it (the provider's registry setting
    names ``host:port/path``; the Compose files' ``${REGISTRY}/<service>``)."""
    registry = org.environments.provider.settings["registry"]
    address, _, path = registry.partition("/")
    return address, f"{path}/{service}" if path else service


def registry_state(loop: DemoLoop) -> dict:
    """The service's release-line tag in the registry: the version its label says, and its tags."""
    address, repository = registry_repository(loop.org, loop.service)
    labels = containers.image_labels(address, repository, loop.release)
    return {"image": f"{address}/{repository}:{loop.release}", "version": labels.get(VERSION_LABEL),
            "tags": containers.registry_tags(address, repository)}


def engine_label(loop: DemoLoop) -> str:
    """``<label>=<key>``: what the provider labels every container, network, volume and image of
    the demo's catalog with (``podman ps -a --filter label=...`` finds them)."""
    with provider_at(loop.org, loop.env_root) as provider:
        return f"{ROOT_LABEL}={provider.root_key}"


def jjb_envdelivery() -> list[str]:
    """This installation's command: its script, as on the agents' PATH, else its module."""
    script = Path(sysconfig.get_path("scripts")) / "jjb-envdelivery"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "jjb_envdelivery.cli.main"]


def env_command(loop: DemoLoop, *args: str) -> subprocess.CompletedProcess:
    """``jjb-envdelivery env ...`` as an engineer runs it, against the demo's catalog."""
    command = [*jjb_envdelivery(), "env", *args, "--org-file", str(loop.org.org_file)]
    env = {**os.environ, root_variable(loop.org): str(loop.env_root)}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def deploy_newest(loop: DemoLoop, variant: str) -> dict:
    """``env deploy`` of the variant's newest verified template; the environment's id and
    each service's address, from ``env list --json``."""
    done = env_command(loop, "deploy", "--variant", variant, "--release", loop.release)
    for text in done.stdout.splitlines():
        loop.say(f"  {text}")
    if done.returncode != 0:
        raise EnvDeliveryError(f"demo: env deploy failed: {done.stderr.strip()[-600:]}")
    listed = env_command(loop, "list", "--json")
    if listed.returncode != 0:
        raise EnvDeliveryError(f"demo: env list failed: {listed.stderr.strip()[-600:]}")
    deployed = [e for e in json.loads(listed.stdout)["environments"] if e["purpose"] == "deploy"]
    if len(deployed) != 1:
        raise EnvDeliveryError(f"demo: expected one deployed environment, env list shows {len(deployed)}")
    env = deployed[0]
    return {"environment": env["id"], "template": env["template"],
            "services": {s: a for s, a in env["access"].items() if s != "engine"}}


def ask_version(address: str, service: str) -> str:
    """The service's answer to ``GET /cgi-bin/version`` at its published address (the
    example's services answer "SERVICE VERSION")."""
    try:
        answer = requests.get(f"http://{address}/cgi-bin/version", timeout=HTTP_TIMEOUT)
    except requests.RequestException as exc:
        return f"no answer ({type(exc).__name__})"
    return answer.text.strip() if answer.status_code == 200 else f"HTTP {answer.status_code}"


def check_deployed(loop: DemoLoop, version: str, deployed: dict, result: LoopResult) -> None:
    """The committed service of the deployed environment answers over HTTP from this host with
    the committed version."""
    address = deployed["services"].get(loop.service)
    answer = ask_version(address, loop.service) if isinstance(address, str) else "no published address"
    deployed["answer"] = answer
    expected = f"{loop.service} {version}"
    if answer != expected:
        result.problems.append(f"{loop.service} of {deployed['environment']} answered {answer!r}, "
                               f"expected {expected!r}")
    loop.say(f"GET http://{address}/cgi-bin/version -> {answer}")


def destroy(loop: DemoLoop, env_id: str) -> str | None:
    """``env destroy``; returns the error, if any."""
    done = env_command(loop, "destroy", env_id)
    return None if done.returncode == 0 else (done.stderr.strip()[-600:] or f"exit status {done.returncode}")


def run_container_loop(loop: DemoLoop, jenkins: Jenkins, say: Callable[[str], None], keep: bool) -> LoopResult:
    """Deliver every service, commit, follow the builds, then deploy as an engineer would."""
    earlier = deliver_everything(loop, jenkins)
    failed = [f"{b.job} #{b.number}" for b in earlier if b.result != "SUCCESS"]
    if failed:
        result = loop.result("", earlier=len(earlier))
        result.problems.append(f"the earlier deliveries failed ({', '.join(failed)}): nothing was committed")
        return result
    before = registry_state(loop)
    say(f"{before['image']} is {loop.service} {before['version']}")
    version = loop.commit()
    # The env build jobs trigger on the deliver jobs (the container provider builds after
    # deliver): every variant's build pulls the tag the deliver job has just moved.
    loop.runner.run_queue()
    result = loop.result(version, earlier=len(earlier))
    result.engine_label = engine_label(loop)
    check_registry(loop, result, before["version"])
    deploy_as_an_engineer(loop, result, say, keep)
    return result


def check_registry(loop: DemoLoop, result: LoopResult, before: str | None) -> None:
    """The release line's tag of the service is the committed version now."""
    result.registry = {**registry_state(loop), "before": before}
    if result.registry["version"] != result.version:
        result.problems.append(f"{result.registry['image']} is {loop.service} {result.registry['version']}, "
                               f"not the committed {result.version}")


def deploy_as_an_engineer(loop: DemoLoop, result: LoopResult, say: Callable[[str], None], keep: bool) -> None:
    """``env deploy`` of the last variant's newest verified template, asked over HTTP from this
    host, then ``env destroy`` (unless `keep`)."""
    variant = result.variants[-1]
    template = result.newest(variant)
    if template is None or template.status != VERIFIED:
        result.problems.append(f"no verified template of {variant}/{loop.release} to deploy")
        return
    say(f"\nAn engineer's environment: jjb-envdelivery env deploy --variant {variant} --release {loop.release}")
    try:
        result.deployed = deploy_newest(loop, variant)
    except EnvDeliveryError as exc:
        result.problems.append(str(exc))
        return
    check_deployed(loop, result.version, result.deployed, result)
    for service, address in sorted(result.deployed["services"].items()):
        say(f"  {service}: http://{address}/")
    if keep:
        say(f"  kept running until the demo is interrupted ({result.deployed['environment']})")
        return
    error = destroy(loop, result.deployed["environment"])
    result.deployed["destroyed"] = error is None
    if error:
        result.problems.append(f"env destroy {result.deployed['environment']} failed: {error}")
    else:
        say(f"destroyed {result.deployed['environment']} (jjb-envdelivery env destroy)")


def report(result: LoopResult) -> str:
    """What the loop did, for a human: the builds, the templates, the agents or the registry."""
    lines = []
    if result.earlier:
        lines.append(f"\n{len(result.earlier)} builds delivered the organisation's services first:")
        lines += [f"  {b.job} #{b.number}: {b.result} ({b.duration:.1f}s)" for b in result.earlier]
    lines.append(f"\n{len(result.builds)} builds followed the commit of {result.service} {result.version}:")
    lines += [f"  {b.job} #{b.number}: {b.result} ({b.duration:.1f}s)" for b in result.builds]
    lines.append(f"\ntemplates of release line {result.release} ({result.env_root}):")
    for variant in result.variants:
        template = result.newest(variant)
        if template is None:
            lines.append(f"  {variant}: none")
        else:
            built = template.artifacts.get(result.service, {}).get("version", "?")
            lines.append(f"  {template.id}: {template.status} (built with {result.service} {built})")
    if result.agents:
        lines.append(f"\n{result.service} delivered to the agents:")
        for agent, files in result.agents.items():
            lines.append(f"  {agent}: {', '.join(files) or 'nothing'}")
    if result.registry:
        lines.append(f"\n{result.registry['image']}: {result.service} {result.registry['version']} "
                     f"(was {result.registry['before']}); tags {', '.join(result.registry['tags'])}")
    if result.deployed:
        lines.append(f"deployed {result.deployed['template']} as {result.deployed['environment']}: "
                     f"{result.service} answered {result.deployed['answer']!r}")
    lines += [f"\nproblem: {problem}" for problem in result.problems]
    return "\n".join(lines)
