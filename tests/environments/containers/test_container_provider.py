"""The container provider against the real engine (Podman) and a real registry: environments are
running containers that talk to each other, templates are images that carry the environment's
state, deploys are fresh containers from them.

Needs podman, runc, docker-registry and busybox-static (.ci/run installs them); without them these
tests skip, and in CI they fail."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.cli import main as cli_main
from jjb_envdelivery.environments.containers.engine import Engine
from jjb_envdelivery.environments.containers.oci_registry import Registry
from jjb_envdelivery.environments.registry import open_provider
from jjb_envdelivery.model.loader import load_organisation

SERVICE_IMAGES = f"localhost/envd-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"  # as conftest.py

LINE = ["--variant", "minimal", "--release", "current"]


def env(*args: str) -> int:
    return cli_main.main(["env", *args])


def listing(capsys) -> dict:
    capsys.readouterr()
    assert env("list", "--json") == 0
    return json.loads(capsys.readouterr().out)


def root_key(org: Path) -> str:
    provider = open_provider(load_organisation(org / "delivery.yaml"))
    try:
        return provider.root_key
    finally:
        provider.close()


def get(address: str, path: str) -> str:
    with urllib.request.urlopen(f"http://{address}{path}", timeout=10) as answer:
        return answer.read().decode()


def label_filters_per_command(monkeypatch) -> list[tuple[str, ...]]:
    """Records, for every engine command the provider runs, its ``label=`` filters."""
    seen: list[tuple[str, ...]] = []
    original = Engine.run

    def run(self, args, what, **options):
        seen.append(tuple(arg for arg in args if str(arg).startswith("label=")))
        return original(self, args, what, **options)
    monkeypatch.setattr(Engine, "run", run)
    return seen


def test_build_verify_deploy_destroy_runs_real_containers(container_org, engine_view, capsys, monkeypatch):
    org = container_org()
    key = root_key(org)
    filters = label_filters_per_command(monkeypatch)
    assert env("build", *LINE) == 0
    out = capsys.readouterr().out
    assert "saved build-minimal-current-" in out and "2 images" in out
    # The build's containers, networks and volumes are gone; its images stay, labelled.
    assert engine_view.nothing_running(key)
    assert len(engine_view.images(key)) == 2
    template = listing(capsys)["templates"][0]
    assert template["status"] == "built"
    # The bill of materials: what the images say (label version and revision, image id).
    kv = template["artifacts"]["kv"]
    assert kv["version"] == "1.0" and kv["commit"] == "rev-1.0" and kv["digest"].startswith("sha256:")
    assert kv["image"].endswith("/kv:current") and kv["image"].startswith("localhost/envd-test-")
    # ... and as `services` (the normalised bill of materials): version, digest, commit for each.
    services = template["services"]
    assert services["kv"] == {"version": "1.0", "digest": kv["digest"], "image": kv["image"], "commit": "rev-1.0"}
    assert services["api"]["version"] == "1.0" and services["api"]["digest"].startswith("sha256:")
    assert services["api"]["digest"] != kv["digest"] and services["envtool"]["version"] == "1.0"
    # The manifest: services with their image ids, networks, volumes, versions, when and by which build.
    manifest = json.loads(Path(template["detail"]["manifest"]).read_text())
    assert set(manifest["services"]) == {"kv", "api"} and manifest["networks"] == ["default"]
    assert all(run["image_id"] for run in manifest["services"].values()) and manifest["volumes"] == ["state"]
    assert manifest["versions"] == services and manifest["created_at"] == template["created_at"]
    assert manifest["build"] == template["build"]

    assert env("verify", "--latest", *LINE) == 0
    out = capsys.readouterr().out
    assert "validated: wget -qO- http://api:8081/first-seen" in out and "promoted" in out
    assert engine_view.nothing_running(key)

    assert env("deploy", *LINE) == 0
    out = capsys.readouterr().out
    env_id = next(line.split()[1] for line in out.splitlines() if line.startswith("environment "))
    deployed = next(e for e in listing(capsys)["environments"] if e["id"] == env_id)
    # How to reach each service: its published loopback address, as the deploy printed it.
    for service in ("kv", "api"):
        assert deployed["access"][service].startswith("127.0.0.1:")
        assert f"  {service}: {deployed['access'][service]}" in out
    # The provisioning tool's configuration (podman exec into kv during the build) is in the template.
    assert get(deployed["access"]["kv"], "/config") == "configured-by-ctool\n"
    # api's volume was seeded at build time (first-seen) and travels in the template: the deployed
    # api serves it from a fresh volume, not from a new call to kv.
    assert get(deployed["access"]["api"], "/first-seen") == "kv 1.0\n"
    assert engine_view.containers(key) and engine_view.volumes(key)

    assert env("destroy", env_id) == 0
    assert engine_view.nothing_running(key)
    assert listing(capsys)["environments"] == []
    # Every listing found its objects by one label filter (Engine.labelled*): Podman 4.3 ORs repeated
    # ones for images and volumes.
    assert filters and all(len(found) <= 1 for found in filters), [f for f in filters if len(f) > 1]


TWO_NETWORKS = """\
services:
  kv:
    image: {kv}
    networks: [back]
    ports: [8080]
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://127.0.0.1:8080/"]
      interval: 200ms
      retries: 50
  api:
    image: {api}
    networks: [front, back]
    depends_on:
      kv: {{condition: service_healthy}}
    volumes: ["state:/data"]
    ports: [8081]
    healthcheck:
      test: ["CMD-SHELL", "wget -qO- http://127.0.0.1:8081/first-seen"]
      interval: 200ms
      retries: 50
networks:
  front: {{}}
  back: {{}}
volumes:
  state: {{}}
"""


def reaches(network: str, image: str, url: str) -> bool:
    done = subprocess.run(["podman", "run", "--rm", "--network", network, image, "wget", "-qO-", url],
                          capture_output=True, text=True, timeout=60)
    return done.returncode == 0


def test_services_on_two_networks_and_validation_on_the_host(container_org, base_image, engine_view, capsys):
    """An environment of its own networks (front, back): api is on both and reaches kv by name on
    back; kv is not on front. Without validate-image, validations run on the host against the
    services' published ports (ENVDELIVERY_<SERVICE>_ADDR)."""
    images = {"kv": f"{SERVICE_IMAGES}/kv:current", "api": f"{SERVICE_IMAGES}/api:current"}
    org = container_org(settings={"validate-image": None}, compose=TWO_NETWORKS.format(**images),
                        validate=['wget -qO- "http://$ENVDELIVERY_API_ADDR/first-seen" | grep -q "kv 1"'])
    key = root_key(org)
    assert env("build", *LINE) == 0 and env("verify", "--latest", *LINE) == 0
    out = capsys.readouterr().out
    assert 'validated: wget -qO- "http://$ENVDELIVERY_API_ADDR/first-seen"' in out and "promoted" in out
    template = listing(capsys)["templates"][0]
    assert json.loads(Path(template["detail"]["manifest"]).read_text())["networks"] == ["front", "back"]
    assert env("deploy", *LINE) == 0
    env_id = next(e["id"] for e in listing(capsys)["environments"])
    # Fresh networks of the environment's own, labelled with its id; nothing else of this catalog.
    networks = subprocess.run(["podman", "network", "ls", "--format", "{{.Name}}", "--filter",
                               f"label=io.github.jjb-envdelivery.env={env_id}"], capture_output=True, text=True)
    assert sorted(networks.stdout.split()) == [f"{env_id}-back", f"{env_id}-front"]
    assert len(engine_view.networks(key)) == 2 and len(engine_view.containers(key)) == 2
    assert reaches(f"{env_id}-back", base_image, "http://kv:8080/")
    assert reaches(f"{env_id}-front", base_image, "http://api:8081/first-seen")
    assert not reaches(f"{env_id}-front", base_image, "http://kv:8080/")
    assert env("destroy", env_id) == 0
    assert engine_view.nothing_running(key)


@pytest.mark.slow
def test_new_delivery_changes_the_bill_of_materials(container_org, make_service_image, capsys):
    container_org()
    assert env("build", *LINE) == 0
    first = listing(capsys)["templates"][0]["artifacts"]["kv"]["image"]
    make_service_image("kv", "1.1", first)  # deliver moved the tag
    # A delivered tag is local here (localhost/...), so the build uses what the tag points to now.
    assert env("build", *LINE) == 0
    first, second = sorted(listing(capsys)["templates"], key=lambda t: t["version"])
    assert first["artifacts"]["kv"]["version"] == "1.0"
    assert second["artifacts"]["kv"]["version"] == "1.1"
    assert first["artifacts"]["kv"]["digest"] != second["artifacts"]["kv"]["digest"]
    assert first["artifacts"]["api"]["digest"] == second["artifacts"]["api"]["digest"]
    # env diff: kv changed (version, digest, commit), api and the tool did not.
    capsys.readouterr()
    assert env("diff", first["id"], second["id"], "--json") == 0
    diff = json.loads(capsys.readouterr().out)
    assert list(diff["changed"]) == ["kv"] and diff["unchanged"] == ["api", "envtool"]
    assert diff["changed"]["kv"] == {"from": first["services"]["kv"], "to": second["services"]["kv"]}
    assert second["services"]["kv"]["commit"] == "rev-1.1"
    assert env("diff", first["id"], second["id"]) == 0
    assert "changed  kv  1.0 -> 1.1" in capsys.readouterr().out


@pytest.mark.slow
def test_registry_push_pull_and_gc(container_org, make_service_image, oci_registry, engine_view, capsys):
    for service in ("kv", "api"):
        make_service_image(service, "1.0", f"{oci_registry}/deliver/{service}:current")
        delivered = f"{oci_registry}/deliver/{service}:current"
        pushed = subprocess.run(["podman", "push", "-q", "--tls-verify=false", delivered], capture_output=True,
                                text=True)
        assert pushed.returncode == 0, pushed.stderr
        subprocess.run(["podman", "rmi", f"{oci_registry}/deliver/{service}:current"], capture_output=True)
    compose_images = {"kv": "${REGISTRY}/deliver/kv:${RELEASE}", "api": "${REGISTRY}/deliver/api:${RELEASE}"}
    org = container_org(settings={"registry": oci_registry, "registry-insecure": True}, images=compose_images)
    key = root_key(org)
    # The build pulls the delivered images from the registry (they are not here any more).
    assert env("build", *LINE) == 0
    assert env("verify", "--latest", *LINE) == 0
    template = listing(capsys)["templates"][0]
    manifest = json.loads(Path(template["detail"]["manifest"]).read_text())
    pushed = [run["pushed"] for run in manifest["services"].values()]
    registry = Registry(insecure=True)
    assert all(registry.exists(ref) for ref in pushed)

    # Another machine: no template images here. Deploy pulls them back and checks their ids.
    subprocess.run(["podman", "rmi", "-f", *engine_view.images(key)], capture_output=True, check=True)
    assert engine_view.images(key) == []
    assert env("deploy", *LINE) == 0
    env_id = next(e["id"] for e in listing(capsys)["environments"])
    assert env("destroy", env_id) == 0

    # A second verified template, then gc keeping one: the first one's images leave the registry too.
    assert env("build", *LINE) == 0 and env("verify", "--latest", *LINE) == 0
    assert env("gc", *LINE, "--keep", "1") == 0
    assert [t["version"] for t in listing(capsys)["templates"]] == [2]
    assert not any(registry.exists(ref) for ref in pushed)
    # ... and from this host: only the kept template's images are left.
    left = subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter",
                           f"label=io.github.jjb-envdelivery.root={key}"], capture_output=True, text=True)
    assert left.stdout.split() and all(name.endswith(":v2") for name in left.stdout.split()), left.stdout
    registry.close()


def test_a_substituted_template_image_is_refused(container_org, make_service_image, engine_view, capsys):
    org = container_org()
    assert env("build", *LINE) == 0
    template = listing(capsys)["templates"][0]
    manifest = json.loads(Path(template["detail"]["manifest"]).read_text())
    kv_image = manifest["services"]["kv"]["template_image"]
    # Someone tags another image under the template's name.
    make_service_image("kv", "6.6.6", kv_image)
    assert env("deploy", "--template", template["id"]) == 1
    err = capsys.readouterr().err
    assert "is not the one saved" in err and "Traceback" not in err
    assert engine_view.nothing_running(root_key(org))
    assert listing(capsys)["environments"] == []


def test_a_service_that_exits_fails_the_build_and_leaves_nothing(container_org, base_image, engine_view, capsys):
    compose = f"""services:
  broken:
    image: {base_image}
    command: ["sh", "-c", "echo cannot open the database >&2; exit 7"]
"""
    org = container_org(compose=compose)
    assert env("build", *LINE) == 1
    err = capsys.readouterr().err
    assert "broken of build-minimal-current-" in err and "exit status 7" in err
    assert "cannot open the database" in err  # its own output says why
    assert engine_view.nothing_running(root_key(org))
    assert listing(capsys)["templates"] == []


def test_an_unhealthy_service_times_out_with_its_check(container_org, base_image, engine_view, capsys):
    compose = f"""services:
  slow:
    image: {base_image}
    command: ["httpd", "-f", "-p", "8080"]
    healthcheck: {{test: ["CMD", "test", "-f", "/never"], interval: 100ms}}
"""
    org = container_org(settings={"start-timeout": 2}, compose=compose)
    assert env("build", *LINE) == 1
    err = capsys.readouterr().err
    assert "slow of build-minimal-current-" in err and "not healthy within start-timeout 2s" in err
    assert engine_view.nothing_running(root_key(org))


@pytest.mark.parametrize("hostile, refusal", [
    ("    volumes: ['/:/host']\n", "bind mount"),
    ("    privileged: true\n", "privileged"),
    ("    network_mode: host\n", "network_mode"),
])
def test_a_hostile_compose_file_starts_nothing(container_org, base_image, engine_view, capsys, hostile, refusal):
    compose = f"services:\n  svc:\n    image: {base_image}\n{hostile}"
    org = container_org(compose=compose)
    assert env("build", *LINE) == 1
    err = capsys.readouterr().err
    assert f"{org / 'compose.yaml'}:" in err and refusal in err and "Traceback" not in err
    assert engine_view.nothing_running(root_key(org))


@pytest.mark.slow
def test_two_catalogs_on_one_host_never_touch_each_other(container_org, engine_view, capsys, tmp_path,
                                                          clean_catalog_objects):
    org = container_org()
    assert env("build", *LINE) == 0 and env("verify", "--latest", *LINE) == 0
    assert env("deploy", *LINE) == 0
    key = root_key(org)
    mine = engine_view.containers(key)
    # A second catalog (another org, another root) recovers, lists and gc's on the same engine.
    data = yaml.safe_load((org / "delivery.yaml").read_text())
    data["environments"]["provider"]["settings"]["root"] = str(tmp_path / "other-root")
    clean_catalog_objects(tmp_path / "other-root")
    other = tmp_path / "other-org"
    other.mkdir()
    (other / "compose.yaml").write_text((org / "compose.yaml").read_text())
    for name in ("teams", "services"):
        (other / name).symlink_to(org / name)
    (other / "delivery.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    capsys.readouterr()
    assert cli_main.main(["env", "list", "--json", "--org-file", str(other / "delivery.yaml")]) == 0
    seen = capsys.readouterr()
    env_id = next(e["id"] for e in listing(capsys)["environments"])
    # The other catalog neither lists nor reports (as strays) nor removes this one's containers.
    assert json.loads(seen.out)["environments"] == [] and env_id not in seen.err
    assert "kept: containers" not in seen.err
    assert engine_view.containers(key) == mine
    assert env("destroy", env_id) == 0


@pytest.mark.slow
def test_export_runs_with_podman_compose(container_org, require_commands, capsys, tmp_path):
    require_commands("podman-compose")
    container_org()
    assert env("build", *LINE) == 0
    template = listing(capsys)["templates"][0]
    target = tmp_path / "exported.yaml"
    assert env("export", template["id"], "-o", str(target)) == 0
    exported = yaml.safe_load(target.read_text())
    assert set(exported["services"]) == {"kv", "api"}
    assert exported["services"]["api"]["depends_on"] == {"kv": {"condition": "service_healthy"}}
    project = f"export-{template['version']}-{tmp_path.name[-8:]}".lower()
    compose = ["podman-compose", "-p", project, "-f", str(target)]
    try:
        up = subprocess.run([*compose, "up", "-d"], capture_output=True, text=True, timeout=180)
        assert up.returncode == 0, up.stdout + up.stderr
        # Without this tool: the exported file alone runs the template's state (kv's configuration,
        # api's seeded volume).
        ps = subprocess.run(["podman", "ps", "--filter", f"label=io.podman.compose.project={project}",
                             "--format", "{{.Names}}"], capture_output=True, text=True)
        kv = next(name for name in ps.stdout.split() if "kv" in name)
        api = next(name for name in ps.stdout.split() if "api" in name)
        assert subprocess.run(["podman", "exec", kv, "cat", "/srv/www/config"], capture_output=True,
                              text=True).stdout == "configured-by-ctool\n"
        seen = subprocess.run(["podman", "exec", api, "cat", "/data/first-seen"], capture_output=True, text=True)
        assert seen.stdout == "kv 1.0\n", seen.stderr
    finally:
        subprocess.run([*compose, "down", "-v", "-t", "0"], capture_output=True, timeout=180)
        # podman-compose 1.0 leaves the project's networks behind.
        networks = subprocess.run(["podman", "network", "ls", "-q", "--filter",
                                   f"label=io.podman.compose.project={project}"], capture_output=True, text=True)
        if networks.stdout.split():
            subprocess.run(["podman", "network", "rm", *networks.stdout.split()], capture_output=True)
