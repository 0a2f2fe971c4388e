"""``demo`` with the container provider: what the paper's loop needs on this machine when the
environments are containers (examples/container-org), besides what demo.py gives every loop.

- A registry on loopback: Debian's ``docker-registry`` (the CNCF distribution), on a free port,
  storing in the demo's directory, with deletion enabled (``env gc`` deletes template images).
- A copy of the organisation naming that registry: the org's files use the documented default
  address ``127.0.0.1:5000`` (the registry's own default port), which cannot be the demo's when
  another registry or demo already listens there, so the copy says ``127.0.0.1:<port>`` instead.
- The base image the Containerfiles build ``FROM``: BusyBox from ``busybox-static``, imported
  (``podman import``; nothing can be pulled from the internet) and pushed to that registry, since
  the package jobs build with ``docker build --pull``, which pulls the base image every time.
- The engine's host settings, only where this host needs them: a ``containers.conf`` (runc, lower
  ulimits) through ``CONTAINERS_CONF`` when a first container fails without it, said aloud; and a
  ``registries.conf`` through ``CONTAINERS_REGISTRIES_CONF`` marking the registry as plain HTTP.
- Agents whose ``docker`` is Podman, for the package and deliver jobs' ``docker`` commands.

Only the CLI runs the jobs (cli/demo_loop.py); nothing here uses the test instruments.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests

from ..environments.containers.base_image import import_busybox_image
from ..environments.containers.engine import Engine
from ..errors import EnvDeliveryError
from ..model.organisation import Organisation
from .demo import provider_at, service_source

# The registry address the example's files name: docker-registry's default (README of the example).
DEFAULT_REGISTRY = "127.0.0.1:5000"
PREREQUISITES = {
    "podman": "the engine: the environments' containers, and `docker` on the demo's agents",
    "docker-registry": "the registry the deliver jobs push to and the environments pull from",
    "busybox": "the base image is BusyBox (busybox-static), imported",
}
INSTALL = "apt-get install podman runc docker-registry busybox-static"
# What Podman needs on hosts like the project's CI machines (containers.md in the team's
# reference): runc, as crun refuses cgroups in hybrid mode, and container ulimits under the
# host's hard limits. Applied only when a first container fails without them.
PODMAN_HOST_SETTINGS = """[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]

[engine]
runtime = "runc"
"""
REGISTRY_START_SECONDS = 30.0
# The manifest kinds a registry answers for a pushed image (OCI, and Docker's schema 2).
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json, "
                  "application/vnd.docker.distribution.manifest.v2+json")


def missing_prerequisites() -> list[str]:
    """What the container loop needs on PATH and this machine lacks, each with why."""
    return [f"{name} ({why})" for name, why in PREREQUISITES.items() if shutil.which(name) is None]


# --- the organisation, with the demo's registry ------------------------------------------------

def copy_with_registry(org_dir: Path, dest: Path, address: str) -> Path:
    """A copy of the organisation directory at `dest` in which every text file's
    ``DEFAULT_REGISTRY`` is `address`; returns `dest`."""
    shutil.copytree(org_dir, dest, ignore=shutil.ignore_patterns(".git", "__pycache__", "build", "dist"))
    for path in sorted(dest.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # not text: nothing names a registry in it
        if DEFAULT_REGISTRY in text:
            path.write_text(text.replace(DEFAULT_REGISTRY, address), encoding="utf-8")
    return dest


def containerfile(org: Organisation, service: str) -> Path:
    return service_source(org, service) / "Containerfile"


def base_images(org: Organisation, services: list[str]) -> list[str]:
    """The images the services' Containerfiles build FROM (``FROM [--option] IMAGE [AS name]``),
    each once."""
    found: list[str] = []
    for service in services:
        for line in containerfile(org, service).read_text(encoding="utf-8").splitlines():
            words = [w for w in line.split() if not w.startswith("--")]
            if len(words) >= 2 and words[0].upper() == "FROM" and words[1] not in found:
                found.append(words[1])
    return found


def foreign_base_images(org: Organisation, services: list[str]) -> list[str]:
    """Base images the demo cannot provide: it builds BusyBox images in its own registry only."""
    registry = org.environments.provider.settings.get("registry") or ""
    host = registry.split("/")[0]
    return [image for image in base_images(org, services) if not (host and image.startswith(host + "/"))]


# --- the registry ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def registry_config(work: Path, port: int) -> Path:
    """docker-registry's configuration: storage in `work`, deletion on, loopback only."""
    config = work / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        "storage:\n"
        f"  filesystem: {{rootdirectory: {work / 'data'}}}\n"
        "  delete: {enabled: true}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n", encoding="utf-8")
    return config


def _answers(address: str) -> bool:
    try:
        return requests.get(f"http://{address}/v2/", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def loopback_registry(work: Path, say: Callable[[str], None]) -> Iterator[str]:
    """Run docker-registry on a free loopback port until the block ends; yields ``127.0.0.1:PORT``."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    address = f"127.0.0.1:{port}"
    log_path = work / "registry.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(["docker-registry", "serve", str(registry_config(work, port))],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + REGISTRY_START_SECONDS
            while not _answers(address):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace")[-400:].strip()
                    raise EnvDeliveryError(f"demo: docker-registry did not start on {address}: {tail or 'no output'}")
                time.sleep(0.1)
            say(f"registry (docker-registry) at http://{address}/ (storage in {work})")
            yield address
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def image_labels(address: str, repository: str, tag: str) -> dict[str, str]:
    """The labels of the image `repository:tag` in the registry at `address`, read through the
    distribution API: the tag's manifest, then its config blob (github.com/opencontainers/
    distribution-spec, spec.md, "Pulling manifests" and "Pulling blobs")."""
    base = f"http://{address}/v2/{repository}"
    try:
        manifest = requests.get(f"{base}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES}, timeout=10)
        if manifest.status_code == 404:
            return {}
        manifest.raise_for_status()
        config = requests.get(f"{base}/blobs/{manifest.json()['config']['digest']}", timeout=10)
        config.raise_for_status()
        return dict((config.json().get("config") or {}).get("Labels") or {})
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise EnvDeliveryError(f"demo: cannot read {repository}:{tag} from the registry at {address}: {exc}") from None


def registry_tags(address: str, repository: str) -> list[str]:
    """The tags of `repository` in the registry (``GET /v2/<name>/tags/list``)."""
    try:
        answer = requests.get(f"http://{address}/v2/{repository}/tags/list", timeout=10)
        if answer.status_code == 404:
            return []
        answer.raise_for_status()
        return sorted(answer.json().get("tags") or [])
    except (requests.RequestException, ValueError) as exc:
        raise EnvDeliveryError(f"demo: cannot list the tags of {repository} at {address}: {exc}") from None


# --- the engine's settings on this host --------------------------------------------------------

@contextmanager
def environment_variables(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in this process's environment (the agents', the provider's and ``env``'s) until
    the block ends; the previous values come back then."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def registries_conf(path: Path, address: str) -> dict[str, str]:
    """A registries.conf marking the loopback registry as plain HTTP (Podman refuses HTTP
    otherwise: "server gave HTTP response to HTTPS client"), for the agents' `docker login`,
    `build --pull` and `push`; returns the variable that points Podman to it."""
    path.write_text(f'[[registry]]\nlocation = "{address}"\ninsecure = true\n', encoding="utf-8")
    return {"CONTAINERS_REGISTRIES_CONF": str(path)}


def _probe(image: str) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", "run", "--rm", image, "true"], capture_output=True, text=True, timeout=120)


def host_settings(image: str, work: Path, say: Callable[[str], None]) -> dict[str, str]:
    """What Podman needs on this host to run a container of `image`: nothing where a first
    container runs, else ``CONTAINERS_CONF`` with ``PODMAN_HOST_SETTINGS`` (unless the caller
    set a CONTAINERS_CONF of their own, which is then reported as not enough)."""
    done = _probe(image)
    if done.returncode == 0:
        return {}
    if "CONTAINERS_CONF" in os.environ:
        raise EnvDeliveryError(f"demo: podman cannot start a container here with CONTAINERS_CONF="
                               f"{os.environ['CONTAINERS_CONF']}: {done.stderr.strip()[-300:]}")
    conf = work / "containers.conf"
    conf.write_text(PODMAN_HOST_SETTINGS, encoding="utf-8")
    with environment_variables({"CONTAINERS_CONF": str(conf)}):
        again = _probe(image)
    if again.returncode != 0:
        raise EnvDeliveryError(f"demo: podman cannot start a container here, even with {conf} (runc, lower "
                               f"ulimits): {again.stderr.strip()[-300:]}")
    say(f"podman needs host settings here (a first container failed: {done.stderr.strip()[-120:]}); the demo "
        f"uses CONTAINERS_CONF={conf}: runtime runc, ulimits nofile and nproc 1024/1000 "
        "(examples/container-org/README.md, \"Container hosts\")")
    return {"CONTAINERS_CONF": str(conf)}


def docker_is_podman(bin_dir: Path) -> Path:
    """A directory whose ``docker`` is Podman, for the front of the agents' PATH: the package and
    deliver jobs run ``docker build|save|load|login|tag|push|image rm``, which Podman takes as
    they are. Debian's podman-docker package installs the same thing as /usr/bin/docker (a script
    that execs podman); a symbolic link is that without a package."""
    podman = shutil.which("podman")
    if podman is None:
        raise EnvDeliveryError(f"demo: no podman on PATH ({INSTALL})")
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / "docker").symlink_to(podman)
    return bin_dir


def publish_base_images(images: list[str], say: Callable[[str], None]) -> None:
    """Import BusyBox as each of `images` and push it to the registry it names."""
    engine = Engine("podman", timeout=300)
    for image in images:
        import_busybox_image(engine, image)
        engine.run(["push", "-q", image], f"pushing the base image {image}")
        say(f"base image {image}: BusyBox (busybox-static), imported and pushed")


def remove_images(prefix: str) -> list[str]:
    """Remove this engine's images whose name starts with `prefix` (the demo registry's, pulled
    by the builds and the deploy); returns their names."""
    engine = Engine("podman", timeout=300)
    listing = ["images", "--format", "{{.Repository}}:{{.Tag}}"]
    done = engine.run(listing, "listing images", check=False)
    if done.returncode != 0:
        # Podman 4.3 fails a listing when another process removes an image meanwhile ("image not
        # known"); once more, then the error stands.
        done = engine.run(listing, "listing images")
    names = [name for name in done.stdout.splitlines() if name.startswith(prefix)]
    if names:
        engine.run(["rmi", "-f", *names], "removing the demo's images", check=False)
    return names


def clean_environments(org: Organisation, root: Path) -> list[str]:
    """Everything the provider's catalog at `root` still holds, removed: what killed runs left
    (recover), environments still running (an engineer's deploy), then every template (its
    images, here and in the registry). Returns the environments and templates removed."""
    removed: list[str] = []
    with provider_at(org, root) as provider:
        provider.recover()
        for env in provider.list_environments():
            provider.destroy(env.id)
            removed.append(f"environment {env.id}")
        for template in provider.list_templates():
            provider.delete_template(template.id)
            removed.append(f"template {template.id}")
    return removed
