"""Fixtures for the container provider's tests: service images built on the BusyBox base image
(tests/conftest.py builds it and starts the registry), an org using the container provider, and
the engine's own view of what exists (containers, networks, volumes, images by label)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT_LABEL = "io.github.jjb-envdelivery.root"
# The service images' repository prefix, one per pytest-xdist worker (tests retag :current).
SERVICE_IMAGES = f"localhost/envd-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"

# kv: a key-value store stand-in that serves /srv/www over HTTP; the provisioning tool writes its
# configuration there (podman exec), so a template must carry it.
KV_FILE = """FROM {base}
COPY index.html /srv/www/index.html
LABEL org.opencontainers.image.version={version} org.opencontainers.image.revision={revision}
CMD ["httpd", "-f", "-p", "8080", "-h", "/srv/www"]
"""
# api: remembers, in its volume, what kv answered the first time it started; serves that.
API_FILE = """FROM {base}
COPY start.sh /srv/start.sh
LABEL org.opencontainers.image.version={version}
CMD ["/bin/sh", "/srv/start.sh"]
"""
API_START = """[ -f /data/first-seen ] || wget -qO /data/first-seen http://kv:8080/ || exit 3
exec httpd -f -p 8081 -h /data
"""
COMPOSE = """\
services:
  kv:
    image: {kv}
    ports: [8080]
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://127.0.0.1:8080/"]
      interval: 200ms
      retries: 50
  api:
    image: {api}
    depends_on:
      kv: {{condition: service_healthy}}
    volumes: ["state:/data"]
    ports: [8081]
    healthcheck:
      test: ["CMD-SHELL", "wget -qO- http://127.0.0.1:8081/first-seen"]
      interval: 200ms
      retries: 50
volumes:
  state: {{}}
"""
# The organisation's provisioning tool for these tests: configures kv inside the environment.
TOOL = """#!/bin/sh
set -e
[ -n "$ENVDELIVERY_KV_ADDR" ] || { echo "no ENVDELIVERY_KV_ADDR" >&2; exit 2; }
sleep "${ENVTOOL_SLEEP:-0}"
"$ENVDELIVERY_ENGINE" exec "$ENVDELIVERY_ENV-kv" sh -c 'mkdir -p /srv/www && echo configured-by-ctool > /srv/www/config'
"""


class EngineView:
    """What the engine holds for one provider root (by the root label), for assertions."""

    def __init__(self, root_key_of):
        self.root_key_of = root_key_of

    def _ids(self, *args: str) -> list[str]:
        done = subprocess.run(["podman", *args], capture_output=True, text=True, check=True)
        return [line for line in done.stdout.split() if line]

    def containers(self, key: str) -> list[str]:
        return self._ids("ps", "-a", "-q", "--filter", f"label={ROOT_LABEL}={key}")

    def networks(self, key: str) -> list[str]:
        return self._ids("network", "ls", "-q", "--filter", f"label={ROOT_LABEL}={key}")

    def volumes(self, key: str) -> list[str]:
        return self._ids("volume", "ls", "-q", "--filter", f"label={ROOT_LABEL}={key}")

    def images(self, key: str) -> list[str]:
        return self._ids("images", "-q", "--filter", f"label={ROOT_LABEL}={key}")

    def nothing_running(self, key: str) -> bool:
        return not (self.containers(key) or self.networks(key) or self.volumes(key))


@pytest.fixture
def engine_view():
    return EngineView(None)


def build_image(tag: str, directory: Path, files: dict[str, str]) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    for _attempt in range(3):  # another process on the host may remove a layer meanwhile ("layer not known")
        done = subprocess.run(["podman", "build", "-q", "-t", tag, str(directory)], capture_output=True, text=True)
        if done.returncode == 0 or "not known" not in done.stderr:
            break
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def make_service_image(base_image, tmp_path_factory):
    """make_service_image(service, version, tag) -> the image id of `service` ("kv" or "api") at
    `version`, tagged `tag` (as a deliver job moves a tag)."""
    work = tmp_path_factory.mktemp("images")

    def make(service: str, version: str, tag: str) -> str:
        directory = work / f"{service}-{version}"
        if service == "kv":
            files = {"Containerfile": KV_FILE.format(base=base_image, version=version, revision=f"rev-{version}"),
                     "index.html": f"kv {version}\n"}
        else:
            files = {"Containerfile": API_FILE.format(base=base_image, version=version), "start.sh": API_START}
        return build_image(tag, directory, files)
    return make


@pytest.fixture
def container_org(tmp_path, example_org_dir, make_service_image, base_image, monkeypatch, clean_catalog_objects):
    """make(settings=None, compose=None, images=None, validate=None) -> an org directory using the
    container provider (its root under tmp_path; a setting given as None is left out), the kv and
    api images at 1.0 tagged :current, and the tool artifact in <org>/.envdelivery/tool; the
    current directory is the org directory."""
    def make(settings: dict | None = None, compose: str | None = None, images: dict | None = None,
             validate: list[str] | None = None) -> Path:
        images = images or {"kv": f"{SERVICE_IMAGES}/kv:current", "api": f"{SERVICE_IMAGES}/api:current"}
        if not settings or "registry" not in settings:
            for service, tag in images.items():
                make_service_image(service, "1.0", tag)
        org = tmp_path / "org"
        clean_catalog_objects(tmp_path / "containers")
        shutil.copytree(example_org_dir, org, ignore=shutil.ignore_patterns("__pycache__"))
        (org / "compose.yaml").write_text(compose or COMPOSE.format(**images))
        data = yaml.safe_load((org / "delivery.yaml").read_text())
        envs = data["environments"]
        merged = {"root": str(tmp_path / "containers"), "command-timeout": 60, "start-timeout": 30,
                  "validate-image": base_image, **(settings or {})}
        # A setting given as None is left out (validate-image: None validates on the host).
        envs["provider"] = {"name": "container", "settings": {k: v for k, v in merged.items() if v is not None}}
        envs["provisioning-tool"] = {"service": "envtool", "artifact": "dist/ctool-*.sh",
                                     "command": "envtool --config {config} --target {target}"}
        for variant in envs["variants"]:
            variant["compose"] = "compose.yaml"
        envs["variants"][0]["validate"] = validate if validate is not None else [
            "wget -qO- http://api:8081/first-seen | grep -q 'kv 1'"]
        (org / "delivery.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        tool_dir = org / ".envdelivery" / "tool"
        tool_dir.mkdir(parents=True)
        tool = tool_dir / "ctool-1.0.sh"
        tool.write_text(TOOL)
        tool.chmod(0o755)
        monkeypatch.chdir(org)
        monkeypatch.delenv("JJB_ENVDELIVERY_CONTAINER_ROOT", raising=False)
        return org
    return make

