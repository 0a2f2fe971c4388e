"""The container provider against the real engine (Podman) and a real registry: environments are
running containers that talk to each other, templates are images that carry the environment's
state, deploys are fresh containers from them.

Needs podman, runc, docker-registry and busybox-static (.ci/run installs them); without them these
tests skip, and in CI they fail."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.cli import main as cli_main
from jjb_envdelivery.environments.containers.oci_registry import Registry
from jjb_envdelivery.environments.registry import open_provider
from jjb_envdelivery.model.loader import load_organisation

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


def test_build_verify_deploy_destroy_runs_real_containers(container_org, engine_view, capsys):
    org = container_org()
    key = root_key(org)
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

    assert env("verify", "--latest", *LINE) == 0
    out = capsys.readouterr().out
    assert "validated: wget -qO- http://api:8081/first-seen" in out and "promoted" in out
    assert engine_view.nothing_running(key)

    assert env("deploy", *LINE) == 0
    out = capsys.readouterr().out
    env_id = next(line.split()[1] for line in out.splitlines() if line.startswith("environment "))
    deployed = next(e for e in listing(capsys)["environments"] if e["id"] == env_id)
    # The provisioning tool's configuration (podman exec into kv during the build) is in the template.
    assert get(deployed["access"]["kv"], "/config") == "configured-by-ctool\n"
    # api's volume was seeded at build time (first-seen) and travels in the template: the deployed
    # api serves it from a fresh volume, not from a new call to kv.
    assert get(deployed["access"]["api"], "/first-seen") == "kv 1.0\n"
    assert engine_view.containers(key) and engine_view.volumes(key)

    assert env("destroy", env_id) == 0
    assert engine_view.nothing_running(key)
    assert listing(capsys)["environments"] == []


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
