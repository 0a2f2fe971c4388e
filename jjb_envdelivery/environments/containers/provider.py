"""The ``container`` provider: an environment is a set of containers on networks of its own, started
from the variant's Compose file; a template is images plus a manifest.

Settings (all optional)::

    environments:
      provider:
        name: container
        settings:
          engine: auto                  # auto (podman, else docker) | podman | docker
          root: /var/lib/envdelivery-containers   # the catalog; relative to the org file
          registry: 127.0.0.1:5000/envdelivery    # where template images are pushed (and ${REGISTRY})
          registry-insecure: false      # true: plain HTTP, no TLS (a registry on loopback)
          validate-image: localhost/envdelivery-base:busybox   # run validations inside the network
          start-timeout: 120            # seconds for every service to be up (healthchecks passing)
          command-timeout: 3600         # seconds for the provisioning tool and each validation
    variants:
      - name: minimal
        compose: environments/minimal.yaml   # services, networks, volumes (containers.compose)

It reads no credential: the engine uses the agent's own registry login (``podman login``).
``JJB_ENVDELIVERY_CONTAINER_ROOT``, when set, overrides ``root``.

A build pulls every image the Compose file names (the tags the deliver jobs move), starts the
services in dependency order on fresh networks and volumes, waits for their healthchecks, and
runs the provisioning tool with each service's address. Saving commits each container into an
image tagged for the template, bakes each named volume's data into the image of the first service
that mounts it (the engine copies it into the fresh, empty volume on deploy), pushes the images
to ``registry`` when set, and writes ``manifest.json``: every service's image, its digest and
how to run it, so a deploy needs neither the Compose file nor this machine's images.

Every engine object carries the labels ``io.github.jjb-envdelivery.root`` (this catalog) and
``.env`` or ``.template``, so recovery finds what a killed run left and two catalogs on one host
never touch each other's containers. The catalog is the local provider's (``sqlite_catalog``),
mirrored in ``templates/<id>/template.json`` and ``environments/<id>.json``.

On hosts where the engine needs settings of its own (a runtime, ulimits), give them to the
engine (``CONTAINERS_CONF`` for Podman): README, "Container hosts".
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shlex
import sqlite3
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path, PurePosixPath

from ...model.settings import Setting
from .. import clone
from ..catalog import BUILT, DELETING, SAVING, STATUSES, VERIFIED, Template, TemplateMeta, now
from ..process import is_alive, my_token, run_shell
from ..provider import Environment, EnvSpec, NotFound, Provider, ProviderError
from ..sqlite_catalog import (
    SqliteCatalog,
    SqliteTemplates,
    read_json,
    template_document,
    template_from_document,
    write_json_atomic,
)
from ..tool import run_tool
from .compose import ComposeFile, Service, load_compose
from .engine import Engine, EngineError, find_engine
from .oci_registry import Registry, RegistryError

ROOT_ENV = "JJB_ENVDELIVERY_CONTAINER_ROOT"
DEFAULT_ROOT = "~/.local/share/jjb-envdelivery/containers"
LABEL = "io.github.jjb-envdelivery"
ROOT_LABEL, ENV_LABEL, TEMPLATE_LABEL, SERVICE_LABEL = (f"{LABEL}.{k}" for k in ("root", "env", "template", "service"))
# The OCI annotation keys (github.com/opencontainers/image-spec, annotations.md) a deliver job sets.
VERSION_LABEL, REVISION_LABEL = "org.opencontainers.image.version", "org.opencontainers.image.revision"
DESTROYING = "destroying"
KEEP_BY_HAND = "remove it by hand if unwanted"
STOP_SECONDS = "2"  # containers are thrown away: no long graceful stop
PARALLEL = 4  # engine commands at once: services of one dependency level start together


def _slug(text: str) -> str:
    """An image-repository-safe form of a name (lower case); a hash keeps names that differ only
    in case apart."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._") or "x"
    return slug if slug == text else f"{slug}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"


def _var(service: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", service.upper())


def service_plan(service: Service) -> dict:
    """How to run one service, as the manifest keeps it (JSON)."""
    health = service.healthcheck
    return {
        "image": service.image,
        "command": list(service.command) if service.command is not None else None,
        "entrypoint": list(service.entrypoint) if service.entrypoint is not None else None,
        "environment": [list(pair) for pair in service.environment],
        "networks": list(service.networks),
        "mounts": [{"volume": m.volume, "target": m.target, "read_only": m.read_only} for m in service.mounts],
        "depends_on": [list(pair) for pair in service.depends_on],
        "healthcheck": None if health is None else {
            "test": list(health.test), "interval": health.interval, "timeout": health.timeout,
            "retries": health.retries, "start_period": health.start_period},
        "ports": list(service.ports),
        "working_dir": service.working_dir,
        "user": service.user,
    }


def compose_plan(compose: ComposeFile) -> dict:
    return {"services": {s.name: service_plan(s) for s in compose.services}, "order": compose.start_order(),
            "networks": list(compose.networks), "volumes": list(compose.volumes)}


def _levels(plan: dict) -> list[list[str]]:
    """The services by dependency depth: each level's dependencies are all in earlier levels."""
    depth: dict[str, int] = {}
    for service in plan["order"]:  # dependencies come first
        depth[service] = 1 + max((depth[dep] for dep, _ in plan["services"][service]["depends_on"]), default=-1)
    levels: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for service in plan["order"]:
        levels[depth[service]].append(service)
    return levels


def _each(items: list[str], work: Callable[[str], None]) -> None:
    """``work`` for every item, a few at once (each is an engine command, mostly waiting); the
    first failure is raised once all have ended, so nothing is left half-started unseen."""
    if len(items) <= 1:
        for item in items:
            work(item)
        return
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(items))) as pool:
        futures = [pool.submit(work, item) for item in items]
    failures = [future.exception() for future in futures if future.exception() is not None]
    if failures:
        raise failures[0]


class ContainerProvider(SqliteTemplates, Provider):
    name = "container"
    USES_COMPOSE = True
    BUILDS_AFTER = "deliver"  # it pulls the tags deliver jobs move
    SETTINGS = (
        Setting("engine", str, default="auto", choices=("auto", "podman", "docker"),
                help="the container engine's command: auto picks podman, else docker"),
        Setting("root", str, default=DEFAULT_ROOT, help=f"directory of the catalog; {ROOT_ENV} overrides it"),
        Setting("registry", str, help="registry (host[:port][/path]) the template images are pushed to; "
                "also ${REGISTRY} in the Compose files"),
        Setting("registry-insecure", bool, default=False, help="plain HTTP without TLS (a registry on loopback)"),
        Setting("validate-image", str, help="run validation commands in a container of this image on the "
                "environment's network (default: on the host, with the services' published ports)"),
        Setting("start-timeout", float, default=120.0, help="seconds for every service to be up and healthy"),
        Setting("command-timeout", float, default=3600.0,
                help="seconds for the provisioning tool and each validation command"),
    )
    CREDENTIAL = None

    def __init__(self, settings: dict, org_dir: Path):
        super().__init__(settings, org_dir)
        self.engine = Engine(find_engine(self.settings["engine"]))
        root = Path(os.environ.get(ROOT_ENV) or self.settings["root"]).expanduser()
        self.root = (self.org_dir / root).resolve() if not root.is_absolute() else root
        try:
            for sub in ("templates", "environments", "plans", "tmp"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProviderError(f"container provider: cannot use root {self.root}: {exc.strerror}") from None
        self.root_key = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        self.registry = (self.settings.get("registry") or "").rstrip("/") or None
        self.insecure = bool(self.settings["registry-insecure"])
        self.start_timeout = float(self.settings["start-timeout"])
        self.timeout = float(self.settings["command-timeout"])
        self.catalog = SqliteCatalog(self.root)
        self.token = my_token()

    def close(self) -> None:
        self.catalog.close()

    # -- names --------------------------------------------------------------------------------
    def _labels(self, **labels: str) -> list[str]:
        pairs = {ROOT_LABEL: self.root_key, **{f"{LABEL}.{k}": v for k, v in labels.items()}}
        return [arg for key, value in pairs.items() for arg in ("--label", f"{key}={value}")]

    def _labelled(self, kind: str, key: str, value: str, what: str) -> list[str]:
        """This catalog's objects of ``kind`` labelled ``key=value`` (never by two ``--filter label``
        options alone: Podman ORs them for images and volumes, Engine.labelled)."""
        return self.engine.labelled(kind, {f"{LABEL}.{key}": value, ROOT_LABEL: self.root_key}, what)

    def template_dir(self, template_id: str) -> Path:
        return self.root / "templates" / template_id

    def _plan_file(self, env_id: str) -> Path:
        return self.root / "plans" / f"{env_id}.json"

    def _local_image(self, template: Template, service: str) -> str:
        return f"localhost/envdelivery-{self.root_key}/{_slug(template.variant)}-{_slug(template.release)}/" \
               f"{_slug(service)}:v{template.version}"

    def _pushed_image(self, template: Template, service: str) -> str:
        line = f"{_slug(template.variant)}-{_slug(template.release)}"
        return f"{self.registry}/{line}/{_slug(service)}:v{template.version}"

    def _tls(self, image: str) -> list[str]:
        """Podman's flag for the configured plain-HTTP registry (Docker reads insecure registries
        from its daemon's configuration instead)."""
        host = (self.registry or "").split("/")[0]
        if self.insecure and self.engine.command == "podman" and host and image.startswith(host + "/"):
            return ["--tls-verify=false"]
        return []

    def variables(self, release: str) -> dict[str, str]:
        """What ``${...}`` may name in a Compose file."""
        return {"RELEASE": release, **({"REGISTRY": self.registry} if self.registry else {})}

    # -- environments -------------------------------------------------------------------------
    def provision(self, spec: EnvSpec, ephemeral: bool) -> Environment:
        if spec.compose is None:
            raise ProviderError(f"the container provider needs a Compose file for variant {spec.variant!r} "
                                "(environments.variants[].compose in the org file)")
        plan = compose_plan(load_compose(spec.compose, self.variables(spec.release)))
        env_id = f"{spec.purpose}-{_slug(spec.config['name'])}-{secrets.token_hex(3)}"
        env = Environment(id=env_id, variant=spec.variant, release=spec.release, purpose=spec.purpose,
                          template_id=None, state="provisioning", created_at=now())
        self._register(env)
        try:
            sources = self._pull(plan)
            plan["sources"] = sources
            write_json_atomic(self._plan_file(env_id), plan)
            self._start(env_id, plan)
            env.access = self._access(env_id)
            versions = run_tool(spec.tool_command, {**spec.config, "access": env.access}, spec.artifacts_dir,
                                env_id, cwd=None, env={**os.environ, **self._env_vars(env)}, timeout=self.timeout)
            # What the images say wins: the bill of materials is what the environment runs.
            env.versions = {**versions, **{s: v["version"] for s, v in sources.items() if v.get("version")}}
            self.catalog.update_environment(env_id, state="running", owner=self.token if ephemeral else None,
                                            versions=env.versions)
        except BaseException:
            self._remove_environment(env_id)
            raise
        env.state = "running"
        return env

    def _register(self, env: Environment) -> None:
        try:
            self.catalog.add_environment(env, owner=self.token)
        except (OSError, sqlite3.Error) as exc:
            raise ProviderError(f"container provider: cannot register {env.id} in {self.root} ({exc}); "
                                "nothing was started") from None

    def _pull(self, plan: dict) -> dict:
        """Pull every image (the delivered tags move, so a build always takes the newest), a few at
        once, and read what each is (one inspect): the bill of materials."""
        images = list(dict.fromkeys(run["image"] for run in plan["services"].values()))
        _each([image for image in images if not image.startswith("localhost/")],
              lambda image: self.engine.run(["pull", "-q", *self._tls(image), image], f"pulling {image}"))
        found = self.engine.json(["image", "inspect", *images], "reading the environment's images")
        if not isinstance(found, list) or len(found) != len(images):
            raise EngineError(f"{self.engine.command} image inspect answered for {len(found)} of {len(images)} images")
        info = dict(zip(images, found, strict=True))
        sources = {}
        for service, run in plan["services"].items():
            image = run["image"]
            labels = info[image].get("Config", {}).get("Labels") or info[image].get("Labels") or {}
            tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else "latest"
            image_id = str(info[image]["Id"])
            source = {"version": labels.get(VERSION_LABEL) or tag, "image": image,
                      "digest": image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"}
            if labels.get(REVISION_LABEL):
                source["commit"] = labels[REVISION_LABEL]
            sources[service] = source
        return sources

    def _start(self, env_id: str, plan: dict) -> None:
        """Networks, volumes, then each service in dependency order; returns once all are up."""
        for network in plan["networks"]:
            self.engine.run(["network", "create", *self._labels(env=env_id), f"{env_id}-{network}"],
                            f"creating network {network} of {env_id}")
        for volume in plan["volumes"]:
            self.engine.run(["volume", "create", *self._labels(env=env_id), f"{env_id}-{volume}"],
                            f"creating volume {volume} of {env_id}")
        deadline = time.monotonic() + self.start_timeout
        for level in _levels(plan):
            waits = dict.fromkeys(tuple(pair) for service in level for pair in plan["services"][service]["depends_on"])
            for dependency, condition in waits:
                if condition == "service_healthy":
                    self._wait_healthy(env_id, dependency, plan["services"][dependency], deadline)
                elif condition == "service_completed_successfully":
                    self._wait_exited(env_id, dependency, deadline)
            _each(level, lambda service: self._launch(env_id, service, plan["services"][service]))
        checked = [service for service in plan["order"] if plan["services"][service]["healthcheck"]]
        _each(checked, lambda service: self._wait_healthy(env_id, service, plan["services"][service], deadline))
        self._check_running(env_id, plan)

    def _launch(self, env_id: str, service: str, run: dict) -> None:
        """Create and start the service's container: ``run -d`` on one network; on several, create,
        connect the others, start (Docker's ``run`` takes a single network)."""
        name = f"{env_id}-{service}"
        several = len(run["networks"]) > 1
        args = ["create" if several else "run", *([] if several else ["-d"]), "--name", name,
                *self._labels(env=env_id, service=service),
                "--stop-timeout", STOP_SECONDS, "--network", f"{env_id}-{run['networks'][0]}",
                "--network-alias", service]
        for port in run["ports"]:
            args += ["-p", f"127.0.0.1::{port}"]  # a free port each: several environments at once
        for key, value in run["environment"]:
            args += ["-e", f"{key}={value}"]
        for mount in run["mounts"]:
            args += ["-v", f"{env_id}-{mount['volume']}:{mount['target']}" + (":ro" if mount["read_only"] else "")]
        health = run["healthcheck"]
        if health:
            test = health["test"]
            shell = test[2] if test[:2] == ["/bin/sh", "-c"] and len(test) == 3 else shlex.join(test)
            args += ["--health-cmd", shell, "--health-interval", f"{health['interval']:g}s",
                     "--health-timeout", f"{health['timeout']:g}s", "--health-retries", str(health["retries"])]
        if run["working_dir"]:
            args += ["-w", run["working_dir"]]
        if run["user"]:
            args += ["-u", run["user"]]
        command = list(run["command"] or [])
        if run["entrypoint"] is not None:
            # The CLI takes one executable; Compose's entrypoint list is executable plus arguments,
            # and setting it drops the image's command, as Compose does.
            args += ["--entrypoint", run["entrypoint"][0] if run["entrypoint"] else ""]
            command = run["entrypoint"][1:] + command
        self.engine.run([*args, run["image"], *command], f"starting {service} of {env_id}")
        if several:
            for network in run["networks"][1:]:
                self.engine.run(["network", "connect", "--alias", service, f"{env_id}-{network}", name],
                                f"connecting {service} of {env_id} to {network}")
            self.engine.run(["start", name], f"starting {service} of {env_id}")

    def _state(self, container: str, what: str) -> dict:
        found = self.engine.json(["container", "inspect", container], what)
        return (found[0] if found else {}).get("State", {})

    def _wait_healthy(self, env_id: str, service: str, run: dict, deadline: float) -> None:
        """Run the service's healthcheck until it passes. Podman without systemd never schedules
        healthchecks itself, so they are run here (``podman healthcheck run``); Docker's daemon runs
        them, and its reported status is read."""
        container = f"{env_id}-{service}"
        interval = min(max(float(run["healthcheck"]["interval"]), 0.1), 1.0)
        last = ""
        while True:
            state = self._state(container, f"checking {service} of {env_id}")
            if not state.get("Running"):
                raise ProviderError(f"{service} of {env_id} exited (status {state.get('ExitCode')}) before it was "
                                    f"healthy; its last output:\n{self._logs(container)}")
            if self.engine.command == "podman":
                done = self.engine.run(["healthcheck", "run", container], f"checking {service}", check=False)
                if done.returncode == 0:
                    return
                last = (done.stdout or done.stderr or "").strip()[-300:]
            elif (state.get("Health") or {}).get("Status") == "healthy":
                return
            if time.monotonic() > deadline:
                raise ProviderError(f"{service} of {env_id} was not healthy within start-timeout "
                                    f"{self.start_timeout:g}s{': ' + last if last else ''}; its last output:\n"
                                    f"{self._logs(container)}")
            time.sleep(interval)

    def _wait_exited(self, env_id: str, service: str, deadline: float) -> None:
        container = f"{env_id}-{service}"
        while True:
            state = self._state(container, f"waiting for {service} of {env_id}")
            if not state.get("Running") and state.get("Status") in ("exited", "stopped"):
                if state.get("ExitCode") == 0:
                    return
                raise ProviderError(f"{service} of {env_id} failed (exit status {state.get('ExitCode')}); its last "
                                    f"output:\n{self._logs(container)}")
            if time.monotonic() > deadline:
                raise ProviderError(f"{service} of {env_id} did not complete within start-timeout "
                                    f"{self.start_timeout:g}s")
            time.sleep(0.1)

    def _check_running(self, env_id: str, plan: dict) -> None:
        """Every service is running, but those others wait for to complete (one inspect for all)."""
        one_shot = {dep for run in plan["services"].values() for dep, cond in run["depends_on"]
                    if cond == "service_completed_successfully"}
        names = [f"{env_id}-{service}" for service in plan["order"]]
        states = {str(info.get("Name", "")).lstrip("/"): info.get("State", {})
                  for info in self.engine.json(["container", "inspect", *names], f"checking {env_id}")}
        for service, name in zip(plan["order"], names, strict=True):
            state = states.get(name, {})
            if not state.get("Running") and not (service in one_shot and state.get("ExitCode") == 0):
                raise ProviderError(f"{service} of {env_id} is not running (exit status {state.get('ExitCode')}); "
                                    f"its last output:\n{self._logs(name)}")

    def _logs(self, container: str) -> str:
        done = self.engine.run(["logs", "--tail", "20", container], f"reading the output of {container}", check=False)
        text = ((done.stdout or "") + (done.stderr or "")).strip()
        return "\n".join("    " + line for line in text.splitlines()[-20:]) or "    (none)"

    def _containers(self, key: str, value: str) -> list[dict]:
        return self.engine.labelled_inspect("container", {f"{LABEL}.{key}": value, ROOT_LABEL: self.root_key},
                                            f"inspecting the containers of {value}")

    def _access(self, env_id: str, containers: list[dict] | None = None) -> dict:
        """Each service's published address on the host, and the network the services share."""
        access: dict = {"engine": self.engine.command}
        for info in sorted(containers if containers is not None else self._containers("env", env_id),
                           key=lambda c: (c.get("Config", {}).get("Labels") or {}).get(SERVICE_LABEL, "")):
            service = (info.get("Config", {}).get("Labels") or {}).get(SERVICE_LABEL)
            if not service:
                continue
            ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
            published = [f"{bound[0].get('HostIp') or '127.0.0.1'}:{bound[0]['HostPort']}"
                         for _, bound in sorted(ports.items()) if bound]
            access[service] = published[0] if len(published) == 1 else (published or f"{info.get('Name', '')}")
        return access

    def _env_vars(self, env: Environment) -> dict:
        """What the tool and host-side validations see: the environment, and each service's address."""
        values = {"ENVDELIVERY_ENV": env.id, "ENVDELIVERY_ENGINE": self.engine.command}
        for service, address in env.access.items():
            if service != "engine" and isinstance(address, str) and ":" in address:
                values[f"ENVDELIVERY_{_var(service)}_ADDR"] = address
        return values

    def run(self, env: Environment, command: str, timeout: float | None = None) -> int:
        timeout = timeout or self.timeout
        if not env.access:
            env.access = self._access(env.id)
        print(f"+ {command}", flush=True)
        image = self.settings.get("validate-image")
        if image:
            plan = read_json(self._plan_file(env.id)) or {}
            network = f"{env.id}-{(plan.get('networks') or ['default'])[0]}"
            name = f"{env.id}-validate-{secrets.token_hex(3)}"
            line = shlex.join([self.engine.command, "run", "--rm", "--name", name, *self._labels(env=env.id),
                               "--network", network, "-e", f"ENVDELIVERY_ENV={env.id}", image, "/bin/sh", "-c",
                               command])
        else:
            line, name = command, None
        try:
            return run_shell(line, env={**os.environ, **self._env_vars(env)}, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            if name:
                self.engine.remove([name], f"stopping {name}", check=False)
            raise ProviderError(f"{command!r} did not finish within {timeout:g}s in {env.id} "
                                "(it and every process it started were killed)") from None

    def deploy(self, template: Template, purpose: str, ephemeral: bool) -> Environment:
        if template.status not in (BUILT, VERIFIED):
            raise ProviderError(f"template {template.label} cannot be deployed")
        env_id = f"{purpose}-{template.id.lower()}-{secrets.token_hex(3)}"
        env = Environment(id=env_id, variant=template.variant, release=template.release, purpose=purpose,
                          template_id=template.id, state="provisioning", created_at=now())
        # Registered in the transaction that checks the template is deployable (sqlite_catalog).
        self._register(env)
        started = time.monotonic()
        try:
            self.check_deployable(template.id)
            manifest = self._manifest(template.id)
            plan = {key: manifest[key] for key in ("order", "networks", "volumes")}
            plan["services"] = self._template_images(template, manifest["services"])
            write_json_atomic(self._plan_file(env_id), plan)
            self._start(env_id, plan)
            env.access = self._access(env_id)
            self.catalog.update_environment(env_id, state="running", owner=self.token if ephemeral else None,
                                            versions={s: str(v.get("version", ""))
                                                      for s, v in template.artifacts.items() if isinstance(v, dict)})
        except BaseException:
            self._remove_environment(env_id)
            raise
        print(f"deployed {template.id} as {env_id}: {len(plan['services'])} services in "
              f"{time.monotonic() - started:.1f}s", flush=True)
        env.state = "running"
        return env

    def _manifest(self, template_id: str) -> dict:
        manifest = read_json(self.template_dir(template_id) / "manifest.json")
        if not manifest or not isinstance(manifest.get("services"), dict):
            raise ProviderError(f"template {template_id}: its manifest {self.template_dir(template_id)}/manifest.json "
                                "is missing or unreadable")
        return manifest

    def _template_images(self, template: Template, services: dict) -> dict:
        """How to run each service, from the template's own images (one inspect when all are here)."""
        images = [run["template_image"] for run in services.values()]
        found = self.engine.run(["image", "inspect", "--format", "{{.Id}}", *images], f"looking up {template.id}",
                                check=False)
        ids = found.stdout.split() if found.returncode == 0 else []
        if len(ids) != len(images):
            return {s: {**run, "image": self._template_image(template, s, run)} for s, run in services.items()}
        for (service, run), image_id in zip(services.items(), ids, strict=True):
            self._same_image(template, service, run, image_id)
        return {s: {**run, "image": run["template_image"]} for s, run in services.items()}

    def _same_image(self, template: Template, service: str, run: dict, image_id: str) -> None:
        if image_id.removeprefix("sha256:") != str(run["image_id"]).removeprefix("sha256:"):
            raise ProviderError(f"template {template.id}: image {run['template_image']} of {service} is not the one "
                                f"saved (id {image_id.removeprefix('sha256:')[:12]}, manifest says "
                                f"{str(run['image_id'])[:19]})")

    def _template_image(self, template: Template, service: str, run: dict) -> str:
        """The service's template image, here, and the one saved: pulled from the registry when
        this machine lacks it, and refused when its id differs from the manifest's."""
        image = run["template_image"]
        found = self.engine.run(["image", "inspect", "--format", "{{.Id}}", image], f"looking up {image}",
                                check=False)
        if found.returncode != 0:
            if not run.get("pushed"):
                raise ProviderError(f"template {template.id}: image {image} of {service} is missing here and was "
                                    "never pushed to a registry")
            self.engine.run(["pull", "-q", *self._tls(run["pushed"]), run["pushed"]], f"pulling {run['pushed']}")
            self.engine.run(["tag", run["pushed"], image], f"tagging {run['pushed']}")
            found = self.engine.run(["image", "inspect", "--format", "{{.Id}}", image], f"looking up {image}")
        self._same_image(template, service, run, found.stdout.strip())
        return image

    def destroy(self, env_id: str) -> None:
        if not any(row["id"] == env_id for row in self.catalog.environment_rows()):
            raise NotFound(f"no environment {env_id!r} (env list shows the existing ones)")
        self._remove_environment(env_id)

    def keep_environment(self, env: Environment) -> None:
        self.catalog.update_environment(env.id, owner=None)

    def _remove_environment(self, env_id: str) -> None:
        self.catalog.update_environment(env_id, state=DESTROYING, owner=self.token)
        self._remove_environment_objects(env_id)
        self._plan_file(env_id).unlink(missing_ok=True)
        self.catalog.delete_environment_row(env_id)

    def _remove_environment_objects(self, env_id: str) -> None:
        """Containers, then networks and volumes, found by label (so also what a killed run made)."""
        containers = self._labelled("container", "env", env_id, f"listing {env_id}")
        if containers:
            self.engine.remove(containers, f"removing the containers of {env_id}")
        networks = self._labelled("network", "env", env_id, f"listing {env_id}")
        if networks:
            self.engine.run(["network", "rm", *networks], f"removing the networks of {env_id}")
        volumes = self._labelled("volume", "env", env_id, f"listing {env_id}")
        if volumes:
            self.engine.run(["volume", "rm", "-f", *volumes], f"removing the volumes of {env_id}")

    def list_environments(self) -> list[Environment]:
        rows = self.catalog.environment_rows()
        containers: dict[str, list] = {}
        if rows:
            for info in self._containers_of_root():
                env_id = (info.get("Config", {}).get("Labels") or {}).get(ENV_LABEL)
                containers.setdefault(env_id, []).append(info)
        return [Environment(id=r["id"], variant=r["variant"], release=r["release"], purpose=r["purpose"],
                            template_id=r["template_id"], state=r["state"], created_at=r["created_at"],
                            access=self._access(r["id"], containers.get(r["id"], [])),
                            versions=json.loads(r["versions"]))
                for r in rows]

    def _containers_of_root(self) -> list[dict]:
        return self.engine.labelled_inspect("container", {ROOT_LABEL: self.root_key}, "listing containers")

    def describe(self, env: Environment) -> str:
        lines = [f"  {service}: {address}" for service, address in env.access.items() if service != "engine"]
        lines.append(f"  shell: {self.engine.command} exec -it {env.id}-<service> sh")
        return "\n".join(lines)

    # -- templates ----------------------------------------------------------------------------
    def save_template(self, env: Environment, meta: TemplateMeta) -> Template:
        plan = read_json(self._plan_file(env.id))
        if not plan:
            raise ProviderError(f"environment {env.id} has no plan file {self._plan_file(env.id)}; cannot save it")
        artifacts = dict(meta.artifacts)
        for service, source in (plan.get("sources") or {}).items():
            artifacts[service] = {**artifacts.get(service, {}), **source}
        template = self.catalog.reserve_template(replace(meta, artifacts=artifacts), owner=self.token)
        staging = self.root / "tmp" / f"{template.id}.saving"
        pushed: list[str] = []
        try:
            staging.mkdir()
            (staging / "owner").write_text(self.token)
            # Each volume's data goes into the image of the first service (in start order) mounting it.
            owners: dict[str, str] = {}
            for service in plan["order"]:
                for mount in plan["services"][service]["mounts"]:
                    owners.setdefault(mount["volume"], service)
            services = {service: {**plan["services"][service], "template_image": self._local_image(template, service)}
                        for service in plan["order"]}

            def save_one(service: str) -> None:
                run = services[service]
                self.engine.commit(f"{env.id}-{service}", run["template_image"], self._changes(template),
                                   f"saving {service} of {env.id}")
                for mount in run["mounts"]:
                    if owners[mount["volume"]] == service:
                        self._bake_volume(env.id, service, template, run["template_image"], mount, staging)
            _each(plan["order"], save_one)
            ids = self.engine.read(["image", "inspect", "--format", "{{.Id}}",
                                    *(services[s]["template_image"] for s in plan["order"])],
                                   f"reading the images of {template.id}").split()
            for service, image_id in zip(plan["order"], ids, strict=True):
                services[service]["image_id"] = image_id
            if self.registry:
                for service in plan["order"]:
                    services[service]["pushed"] = self._pushed_image(template, service)
                    pushed.append(services[service]["pushed"])  # before the push: a failed save deletes it

                def push_one(service: str) -> None:
                    run = services[service]
                    run["pushed_digest"] = self.engine.push(run["template_image"], run["pushed"],
                                                            self._tls(run["pushed"]),
                                                            f"pushing {service} of {template.id}")
                _each(plan["order"], push_one)
            manifest = {"template": template.id, "services": services, "order": plan["order"],
                        "networks": plan["networks"], "volumes": plan["volumes"],
                        # The bill of materials: each service's version, source image, digest, commit.
                        "versions": template.services,
                        "created_at": template.created_at, "build": template.build, "engine": self.engine.command}
            write_json_atomic(staging / "manifest.json", manifest)
            template.status = BUILT
            write_json_atomic(staging / "template.json", template_document(template))
            (staging / "owner").unlink()
            os.rename(staging, self.template_dir(template.id))
            clone.fsync_dir(self.root / "templates")
            # The commit point: only now is the template usable.
            if not self.catalog.update_template(template.id, expect=(SAVING,), status=BUILT, owner=None):
                raise ProviderError(f"template {template.id} vanished from the catalog while being saved")
        except BaseException:
            self._remove_template_data(template.id, pushed)
            self.catalog.delete_template_row(template.id, give_back_version=True)
            raise
        print(f"saved {env.id} as template {template.id}: {len(services)} images"
              + (f", pushed to {self.registry}" if self.registry else ""), flush=True)
        return self.catalog.get_template(template.id)

    def _changes(self, template: Template) -> list[str]:
        return ["--change", f"LABEL {ROOT_LABEL}={self.root_key}", "--change", f"LABEL {TEMPLATE_LABEL}={template.id}"]

    def _bake_volume(self, env_id: str, service: str, template: Template, image: str, mount: dict,
                     staging: Path) -> None:
        """The volume's files into ``image`` at its mount point: on deploy the engine copies them
        into the new, empty volume (Podman's copy-up; Docker: "populate a volume using a container",
        docs.docker.com/engine/storage/volumes/). Copied with ``cp``, which both engines have."""
        data = staging / f"volume-{mount['volume']}.tar"
        target = PurePosixPath(mount["target"])
        with open(data, "wb") as tar:
            self.engine.run(["cp", f"{env_id}-{service}:{target}", "-"], f"exporting volume {mount['volume']}",
                            stdout=tar)
        helper = f"{env_id}-bake-{secrets.token_hex(3)}"
        # Never started; created with the image's own command so that the commit keeps it.
        create = ["create", "--name", helper, *self._labels(env=env_id), image]
        if self.engine.run(create, f"baking {mount['volume']}", check=False).returncode != 0:
            self.engine.run([*create, "/"], f"baking {mount['volume']}")  # an image without a command
        try:
            # The archive's top directory is the mount point's own name: unpacked into its parent.
            with open(data, "rb") as tar:
                self.engine.run(["cp", "-", f"{helper}:{target.parent}"], f"baking {mount['volume']}", stdin=tar)
            self.engine.commit(helper, image, self._changes(template), f"baking {mount['volume']}")
        finally:
            self.engine.remove([helper], f"removing {helper}", check=False)
            data.unlink(missing_ok=True)

    def _remove_template_data(self, template_id: str, pushed: list[str]) -> list[str]:
        """A template that never completed (a failed or killed save): what it pushed, its images,
        its files. Returns what the registry refused (the next save of that version overwrites it)."""
        problems = self._delete_pushed(pushed)
        self._remove_local_template(template_id)
        return problems

    def _delete_pushed(self, pushed: list[str]) -> list[str]:
        """Delete the template's images from the registry; returns the failures."""
        problems = []
        if pushed:
            registry = Registry(insecure=self.insecure)
            try:
                for ref in pushed:
                    try:
                        registry.delete(ref)
                    except RegistryError as exc:
                        problems.append(str(exc))
            finally:
                registry.close()
        return problems

    def _remove_local_template(self, template_id: str) -> None:
        """The template's images on this host (by label), then its files."""
        images = self._labelled("image", "template", template_id, f"listing the images of {template_id}")
        if images:
            self.engine.run(["rmi", "-f", *images], f"removing the images of {template_id}")
        for path in (self.root / "tmp" / f"{template_id}.saving", self.root / "tmp" / f"{template_id}.deleting"):
            clone.remove_tree(path)
        if self.template_dir(template_id).exists():
            trash = self.root / "tmp" / f"{template_id}.deleting"
            os.rename(self.template_dir(template_id), trash)
            clone.remove_tree(trash)

    def list_templates(self) -> list[Template]:
        templates = self.catalog.templates()
        for t in templates:
            t.detail = {"manifest": str(self.template_dir(t.id) / "manifest.json")}
        return templates

    def _finish_delete(self, template_id: str) -> None:
        manifest = read_json(self.template_dir(template_id) / "manifest.json") or {}
        pushed = [run["pushed"] for run in (manifest.get("services") or {}).values()
                  if isinstance(run, dict) and run.get("pushed")]
        # The registry first: until it has let go, the manifest (what to delete there) stays.
        problems = self._delete_pushed(pushed)
        if problems:
            # Stays "deleting": never deployable, and the next command's recover tries again.
            raise ProviderError(f"template {template_id}: not deleted, the registry failed: " + "; ".join(problems)
                                + "; it stays marked deleting and the next command tries again")
        self._remove_local_template(template_id)
        self.catalog.delete_template_row(template_id)

    def export_compose(self, template: Template) -> dict:
        manifest = self._manifest(template.id)
        services = {}
        for name in manifest["order"]:
            run = manifest["services"][name]
            service: dict = {"image": run.get("pushed") or run["template_image"]}
            if run["entrypoint"] is not None:
                service["entrypoint"] = run["entrypoint"]
            if run["command"] is not None:
                service["command"] = run["command"]
            if run["environment"]:
                service["environment"] = dict(run["environment"])
            service["networks"] = run["networks"]
            if run["mounts"]:
                service["volumes"] = [f"{m['volume']}:{m['target']}" + (":ro" if m["read_only"] else "")
                                      for m in run["mounts"]]
            if run["depends_on"]:
                service["depends_on"] = {dep: {"condition": cond} for dep, cond in run["depends_on"]}
            health = run["healthcheck"]
            if health:
                service["healthcheck"] = {"test": ["CMD", *health["test"]], "interval": f"{health['interval']:g}s",
                                          "timeout": f"{health['timeout']:g}s", "retries": health["retries"],
                                          "start_period": f"{health['start_period']:g}s"}
            if run["ports"]:
                service["ports"] = [{"target": port, "host_ip": "127.0.0.1"} for port in run["ports"]]
            for key in ("working_dir", "user"):
                if run.get(key):
                    service[key] = run[key]
            services[name] = service
        return {"name": _slug(template.id), "services": services,
                "networks": {n: {} for n in manifest["networks"]},
                **({"volumes": {v: {} for v in manifest["volumes"]}} if manifest["volumes"] else {})}

    # -- recovery -----------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Undo half-done saves, finish or undo half-done deletions, remove the containers of
        ephemeral environments whose process is gone; adopt templates the catalog lost; keep (and
        report) engine objects of this catalog that no record accounts for."""
        cleaned = list(self.catalog.reports)
        self.catalog.reports.clear()
        templates = {r["id"]: r for r in self.catalog.template_rows()}
        environments = {r["id"]: r for r in self.catalog.environment_rows()}
        later: list[Callable[[], None]] = []
        for tid, row in templates.items():
            if row["status"] == SAVING and not is_alive(row["owner"]):
                self._remove_local_template(tid)
                later.append(lambda tid=tid: self.catalog.delete_template_row(tid, give_back_version=True))
                cleaned.append(f"template {tid} (saving when its process ended)")
            elif row["status"] == DELETING and not is_alive(row["owner"]):
                users = sorted(e["id"] for e in environments.values() if e["template_id"] == tid)
                if users:
                    later.append(lambda tid=tid: self.catalog.cancel_delete(tid))
                    cleaned.append(f"template {tid} kept: its delete was interrupted and {', '.join(users)} uses it")
                else:
                    try:
                        self._finish_delete(tid)
                        cleaned.append(f"template {tid} (deleting when its process ended)")
                    except ProviderError as exc:
                        cleaned.append(f"template {tid}: {exc}")
            elif row["status"] in STATUSES and not (self.template_dir(tid) / "manifest.json").exists():
                later.append(lambda tid=tid: self.catalog.update_template(tid, status="failed"))
                cleaned.append(f"template {tid} marked failed: its manifest is missing")
        for eid, row in environments.items():
            if row["owner"] and not is_alive(row["owner"]):
                self._remove_environment_objects(eid)
                self._plan_file(eid).unlink(missing_ok=True)
                later.append(lambda eid=eid: self.catalog.delete_environment_row(eid))
                cleaned.append(f"environment {eid} ({row['purpose']}, its process ended)")
        cleaned += self._unregistered_templates(templates, later)
        cleaned += self._saving_leftovers(templates)
        cleaned += self._stray_objects(environments, templates)
        for write in later:
            write()
        return cleaned

    def _unregistered_templates(self, rows: dict, later: list) -> list[str]:
        found = []
        for path in sorted((self.root / "templates").iterdir()):
            if path.name in rows:
                continue
            parsed = template_from_document(read_json(path / "template.json") or {})
            complete = (path / "manifest.json").exists()
            if parsed and parsed[0].id == path.name and parsed[0].status in STATUSES and complete:
                later.append(lambda t=parsed[0]: self.catalog.adopt_template(t))
                found.append(f"template {path.name} registered again from its template.json")
            else:
                found.append(f"kept: {path} (no catalog row, no readable template.json); {KEEP_BY_HAND}")
        return found

    def _saving_leftovers(self, rows: dict) -> list[str]:
        """A save whose row was lost with its process: its owner file says whose it was."""
        found = []
        for path in sorted((self.root / "tmp").glob("*.saving")):
            tid = path.name.removesuffix(".saving")
            owner = (path / "owner").read_text().strip() if (path / "owner").is_file() else None
            if tid not in rows and owner and not is_alive(owner):
                self._remove_local_template(tid)
                found.append(f"leftover save of {tid} (its process ended)")
        return found

    def _stray_objects(self, environments: dict, templates: dict) -> list[str]:
        """Containers and images labelled for this catalog that no record accounts for: reported,
        never removed (they may be someone's work)."""
        found = []
        strays = sorted({(info.get("Config", {}).get("Labels") or {}).get(ENV_LABEL, "?")
                         for info in self._containers_of_root()} - set(environments))
        for env_id in strays:
            engine = self.engine.command
            found.append(f"kept: containers of {env_id} (no catalog record); remove them with "
                         f"{engine} rm -f $({engine} ps -aq --filter label={ENV_LABEL}={env_id})")
        listed = [image.get("Config") or image for image in self.engine.labelled_inspect(
            "image", {ROOT_LABEL: self.root_key}, "listing images")]
        known = set(templates) | {p.name for p in (self.root / "templates").iterdir()}
        for tid in sorted({(image.get("Labels") or {}).get(TEMPLATE_LABEL, "?") for image in listed} - known):
            found.append(f"kept: images of template {tid} (no catalog record); {KEEP_BY_HAND}")
        return found
