"""Shared test fixtures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_dir() -> Path:
    return Path(os.environ.get("JJB_ENVDELIVERY_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """../shared/corpora, or a skip where this machine has no copy of it."""
    path = _shared_dir() / "corpora"
    if not path.is_dir():
        pytest.skip(f"no corpora at {path} (set JJB_ENVDELIVERY_SHARED to its parent)")
    return path


def _require_commands(*names: str) -> None:
    """Skip a test whose real tools (git, dpkg-deb, ...) this machine lacks; in CI (``CI`` set,
    as .ci/run's callers set it) fail instead: .ci/run installs them, so a skip there is a bug."""
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    message = f"needs {', '.join(missing)} on PATH (.ci/run installs them)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def require_commands():
    """``require_commands("git", "dpkg-deb")`` at the start of a test (see _require_commands)."""
    return _require_commands


MANY_PROJECTS = 40  # enough projects for a plain JJB input to be split over several workers


def _write_many_projects(path: Path, projects: int = MANY_PROJECTS, broken: dict[int, str] | None = None,
                         extra: str = "") -> Path:
    """Plain JJB YAML at `path`: a job-template, a view and `projects` projects making two jobs
    each (svc-N-a, svc-N-b); `broken` replaces some projects' text, `extra` is appended."""
    text = ["- job-template:\n    name: 'svc-{n}-{stream}'\n    description: 'job {n} on {stream}'\n"
            "    builders:\n      - shell: 'make {stream}'\n",
            "- view:\n    name: svc-all\n    view-type: list\n    regex: 'svc-.*'\n"]
    for n in range(projects):
        text.append((broken or {}).get(n) or
                    f"- project:\n    name: p{n}\n    n: {n}\n    stream: [a, b]\n    jobs: ['svc-{{n}}-{{stream}}']\n")
    path.write_text("".join(text) + extra)
    return path


@pytest.fixture(scope="session")
def many_projects():
    """The writer of a plain JJB input with many projects (see _write_many_projects)."""
    return _write_many_projects


@pytest.fixture(scope="session")
def example_org_dir() -> Path:
    return REPO_ROOT / "examples" / "example-org"


def _summary_rows(output: str) -> dict[str, dict[str, int]]:
    """The rows of an update summary table: scope -> {created: n, changed: n, ...}."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.split()[:2] == ["scope", "created"]:
            columns = line.split()[1:]
            rows = {}
            for row in lines[index + 1:]:
                cells = row.split()
                if len(cells) != len(columns) + 1 or not all(c.isdigit() for c in cells[1:]):
                    break
                rows[cells[0]] = dict(zip(columns, map(int, cells[1:]), strict=True))
            return rows
    raise AssertionError(f"no summary table in:\n{output}")


@pytest.fixture(scope="session")
def summary():
    """Parse `update`'s summary table: summary(output)["payments"]["created"]."""
    return _summary_rows


# --- parallel runs (pytest-xdist, on by default: pyproject's addopts) -----------------------------

MAX_WORKERS = 4  # many tests start processes of their own (renders use one per CPU)


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker per CPU, at most MAX_WORKERS (PYTEST_XDIST_AUTO_NUM_WORKERS overrides)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "").isdigit():
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


# --- a real container engine and OCI registry (containers.md in the team's reference) ----------

# One per pytest-xdist worker: workers never retag or remove each other's images.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
BASE_IMAGE = f"localhost/envdelivery-test-base-{WORKER}:busybox"


def _fail_or_skip(message: str):
    if os.environ.get("CI"):
        pytest.fail(message + " (in CI the container tests must run: .ci/run installs podman, runc, "
                    "docker-registry, busybox-static and podman-compose)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def container_engine(tmp_path_factory):
    """Podman with a BusyBox base image (``BASE_IMAGE``) built here; skips without Podman, and
    fails in CI when it cannot start a container. Where this host needs Podman settings (runc,
    lower ulimits: README, "Container hosts"), they are applied for this session only, as the
    demo applies them: when a first container fails without them."""
    from jjb_envdelivery.environments.containers.base_image import import_busybox_image
    from jjb_envdelivery.environments.containers.engine import Engine
    from jjb_envdelivery.errors import EnvDeliveryError
    from jjb_envdelivery.orchestration.demo_containers import host_settings

    if shutil.which("podman") is None:
        _fail_or_skip("needs podman")
    engine = Engine("podman", timeout=180)
    try:
        import_busybox_image(engine, BASE_IMAGE)
        os.environ.update(host_settings(BASE_IMAGE, tmp_path_factory.mktemp("podman"), lambda _: None))
    except EnvDeliveryError as exc:  # the engine's errors included
        _fail_or_skip(str(exc))
    return engine


class LoopbackRegistry:
    """A real registry (Debian's docker-registry, the CNCF distribution) on a free loopback port,
    storing under `work`, with deletion enabled (the demo's configuration); ``address`` is
    ``127.0.0.1:PORT``. ``stop`` and ``start`` again keep the address and the data."""

    def __init__(self, work: Path):
        from jjb_envdelivery.orchestration.demo_containers import free_port, registry_config

        if shutil.which("docker-registry") is None:
            _fail_or_skip("needs docker-registry")
        self.work = work
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        self.config = registry_config(work, port)
        self.process = None
        self.start()

    def start(self) -> None:
        import subprocess
        import time
        import urllib.request

        self.log = open(self.work / "registry.log", "a")
        self.process = subprocess.Popen(["docker-registry", "serve", str(self.config)], stdout=self.log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=2):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    _fail_or_skip(f"docker-registry did not start: {(self.work / 'registry.log').read_text()[-300:]}")
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="session")
def oci_registry(tmp_path_factory):
    """A registry for the session; yields its ``127.0.0.1:PORT``."""
    registry = LoopbackRegistry(tmp_path_factory.mktemp("registry"))
    yield registry.address
    registry.stop()


@pytest.fixture
def start_registry(tmp_path_factory):
    """start_registry() -> a LoopbackRegistry of this test's own (to stop, to fail); stopped after it."""
    started = []

    def start() -> LoopbackRegistry:
        started.append(LoopbackRegistry(tmp_path_factory.mktemp("registry")))
        return started[-1]
    yield start
    for registry in started:
        registry.stop()


@pytest.fixture(scope="session")
def base_image(container_engine) -> str:
    """The BusyBox base image's tag (built by ``container_engine``)."""
    return BASE_IMAGE


def remove_catalog_objects(root: Path) -> None:
    """Every container, network, volume and image the container provider labelled for the catalog
    at `root` (what a test made and did not remove itself: a deployed environment, template images)."""
    import hashlib
    import subprocess

    key = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    label = f"label=io.github.jjb-envdelivery.root={key}"
    steps = ((["ps", "-a", "-q"], ["rm", "-f", "-t", "0"]), (["network", "ls", "-q"], ["network", "rm"]),
             (["volume", "ls", "-q"], ["volume", "rm", "-f"]), (["images", "-q"], ["rmi", "-f"]))
    for listing, removal in steps:
        found = subprocess.run(["podman", *listing, "--filter", label], capture_output=True, text=True)
        ids = sorted(set(found.stdout.split()))
        if ids:
            subprocess.run(["podman", *removal, *ids], capture_output=True)


@pytest.fixture
def clean_catalog_objects():
    """clean_catalog_objects(root): remove what the container provider made for `root` when the
    test ends, so no test leaves containers or images on the host."""
    roots: list[Path] = []
    yield roots.append
    for root in roots:
        remove_catalog_objects(root)
