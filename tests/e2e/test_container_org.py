"""The container example organisation end to end: ``jjb-envdelivery demo examples/container-org``.

Everything is real: the generated jobs run by the job runner (a test instrument, not Jenkins),
images built by Podman from a BusyBox base image, a docker-registry on loopback, environments of
running containers that answer HTTP, templates pushed to that registry, and an engineer's deploy.
In CI (``CI`` set) a machine where Podman cannot run containers fails these tests (the fixtures
of tests/conftest.py), it does not skip them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from jjb_envdelivery.environments.containers.compose import load_compose
from jjb_envdelivery.environments.containers.engine import Engine
from jjb_envdelivery.environments.containers.provider import ROOT_LABEL
from jjb_envdelivery.graph import check, check_warnings
from jjb_envdelivery.model.loader import load_organisation
from jjb_envdelivery.orchestration.checked_render import graph_of_organisation

LINE = "current"
SERVICE = "catalog"  # the first service of the org file with a Containerfile
# Each service's jobs' names start with its team's namespace: a folder, or the shop team's prefix.
NAMESPACES = {"shopctl": "platform/", "catalog": "catalog/", "stock": "catalog/", "storefront": "shop-",
              "orders": "shop-"}
VARIANTS = ("minimal", "full")


def test_the_organisation_loads_and_its_jobs_pass_every_check(repo_root):
    """The org file, its Compose files (as the provider reads them) and its generated jobs."""
    org_dir = repo_root / "examples/container-org"
    org = load_organisation(org_dir)
    assert org.environments.provider.name == "container"
    assert [p.name for p in org.projects] == ["platform", "catalog", "shop"]
    assert [s for p in org.projects for s in p.services] == list(NAMESPACES)
    variables = {"REGISTRY": org.environments.provider.settings["registry"], "RELEASE": LINE}
    for variant in org.environments.variants:
        compose = load_compose(variant.compose, variables)
        assert {s.name for s in compose.services} == set(variant.services) - {"shopctl"}
    graph = graph_of_organisation(org_dir)
    assert [str(p) for p in check(graph)] == []
    assert [str(w) for w in check_warnings(graph)] == []


def _jjb_envdelivery() -> list[str]:
    script = Path(sysconfig.get_path("scripts")) / "jjb-envdelivery"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "jjb_envdelivery.cli.main"]


def _podman_lines(*args: str) -> list[str]:
    """A host-wide listing, tried again (as the provider's own reads are: Engine.read) when Podman
    fails it over an object removed meanwhile ("no such container": a container's conmon cleanup
    can still be running after the demo ended; seen in .ci/run)."""
    text = Engine("podman", timeout=120).read(list(args), f"listing ({' '.join(args[:2])})")
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def run_demo(container_engine, oci_registry, repo_root, require_commands):
    """run_demo(*options) -> the demo's JSON result and its standard error. The fixtures make
    sure Podman runs containers here (setting CONTAINERS_CONF for this session when the host
    needs it, which the demo inherits) and docker-registry starts; the demo starts its own."""
    require_commands("git", "dpkg-deb", "busybox", "docker-registry")

    def run(*options: str) -> tuple[dict, str]:
        done = subprocess.run([*_jjb_envdelivery(), "demo", str(repo_root / "examples/container-org"), "--json",
                               *options], capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stderr[-6000:]
        return json.loads(done.stdout), done.stderr
    return run


@pytest.fixture(scope="module")
def demo(run_demo):
    """The demo of the example as it is, once for this module."""
    return run_demo()


def newest_templates(result: dict) -> dict[str, dict]:
    """Variant -> its newest template on the release line, from the demo's JSON."""
    newest: dict[str, dict] = {}
    for template in result["templates"]:
        if template["release"] == LINE and template["version"] > newest.get(template["variant"], {}).get("version", 0):
            newest[template["variant"]] = template
    return newest


@pytest.mark.slow  # one demo for the module: every service delivered, two variants built and verified
def test_the_commit_reaches_the_registry_the_templates_and_a_deployed_environment(demo):
    result, err = demo
    assert result["ok"] is True
    assert result["service"] == SERVICE and result["release"] == LINE
    version = result["committed-version"]
    assert version == "1.1.0"  # the Containerfile said 1.0.0

    # The earlier deliveries: every service through CI, package and deliver, nothing else.
    earlier = sorted((b["job"], b["result"]) for b in result["earlier-builds"])
    assert earlier == sorted((f"{namespace}{service}-{LINE}-{stage}", "SUCCESS") for service, namespace
                             in NAMESPACES.items() for stage in ("ci", "package", "deliver"))

    # The commit: its CI, package and deliver builds, then each variant's build, verify and gc.
    builds = [(b["job"], b["result"]) for b in result["builds"]]
    assert all(outcome == "SUCCESS" for _, outcome in builds), builds
    jobs = [job for job, _ in builds]
    assert jobs[:3] == [f"catalog/catalog-{LINE}-{stage}" for stage in ("ci", "package", "deliver")]
    for variant in VARIANTS:
        stages = [job.rsplit("-", 1)[1] for job in jobs if f"/env-{variant}-{LINE}-" in job]
        assert stages[-3:] == ["build", "verify", "gc"], jobs

    # The registry: the release line's tag moved to the committed version, the version's tag kept.
    registry = result["registry"]
    assert registry["image"].endswith(f"/container-org/{SERVICE}:{LINE}")
    assert (registry["before"], registry["version"]) == ("1.0.0", version)
    assert LINE in registry["tags"] and len(registry["tags"]) == 3  # two delivered versions and the line's tag

    # Every variant's newest template is verified and carries the committed version.
    newest = newest_templates(result)
    assert set(newest) == set(VARIANTS)
    for template in newest.values():
        assert (template["status"], template[SERVICE]) == ("verified", version), template

    # The engineer's environment answered from this host with the committed version, then went.
    deployed = result["deployed"]
    assert deployed["template"] == newest["full"]["id"]
    assert deployed["answer"] == f"{SERVICE} {version}"
    assert set(deployed["services"]) == {"catalog", "stock", "storefront", "orders"}
    assert deployed["destroyed"] is True
    assert f"GET http://{deployed['services'][SERVICE]}/cgi-bin/version -> {SERVICE} {version}" in err


@pytest.mark.slow
def test_the_demo_leaves_no_containers_images_or_registry_behind(demo):
    result, err = demo
    label = result["engine-label"]
    assert label.startswith(f"{ROOT_LABEL}=")
    assert _podman_lines("ps", "-a", "--format", "{{.Names}}", "--filter", f"label={label}") == []
    assert _podman_lines("images", "-a", "--format", "{{.ID}}", "--filter", f"label={label}") == []
    assert _podman_lines("volume", "ls", "--format", "{{.Name}}", "--filter", f"label={label}") == []
    assert _podman_lines("network", "ls", "--format", "{{.Name}}", "--filter", f"label={label}") == []
    registry = result["registry"]["image"].split("/")[0]
    assert not [name for name in _podman_lines("images", "--format", "{{.Repository}}")
                if name.startswith(registry + "/")]
    environments = {result["deployed"]["environment"]}
    assert not [name for name in _podman_lines("ps", "-a", "--format", "{{.Names}}")
                if any(name.startswith(env) for env in environments)]
    assert f"images pulled from {registry}" in err


@pytest.mark.slow  # a second demo
def test_a_service_delivered_last_reaches_the_environments_in_its_first_build(run_demo):
    """The container provider builds from what deliver jobs pushed (BUILDS_AFTER = "deliver"), so
    the generator starts the environment build jobs from the deliver jobs (generator/environments.py).
    Were they started by the package jobs, Jenkins (and the job runner) would schedule them in name
    order with the deliver job, and for shop-storefront-current-deliver the build jobs
    (delivery/...) would come first and pull the previous storefront."""
    result, err = run_demo("--service", "storefront")
    assert result["ok"] is True and result["service"] == "storefront"
    version = result["committed-version"]
    assert result["registry"]["version"] == version
    jobs = [b["job"] for b in result["builds"]]
    for variant in VARIANTS:
        assert jobs.count(f"delivery/env-{variant}-{LINE}-build") == 1, jobs
        assert jobs.index(f"delivery/env-{variant}-{LINE}-build") > jobs.index(f"shop-storefront-{LINE}-deliver")
        newest = newest_templates(result)[variant]
        assert newest["storefront"] == version and newest["status"] == "verified"
    assert result["deployed"]["answer"] == f"storefront {version}"
