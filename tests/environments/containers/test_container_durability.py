"""The container provider under kills and faults (the durability contract's cases run on it too:
tests/environments/test_durability_contract.py): a save killed half-way, a registry that is down
during gc, a template whose manifest is lost. Nothing half-made stays usable, nothing complete is
lost, and the next command finishes or undoes what was interrupted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.cli import main as cli_main
from jjb_envdelivery.environments.containers.oci_registry import Registry

pytestmark = pytest.mark.slow
LINE = ["--variant", "minimal", "--release", "current"]
CLI = str(Path(sys.executable).parent / "jjb-envdelivery")


def env(*args: str) -> int:
    return cli_main.main(["env", *args])


def listing(capsys) -> dict:
    capsys.readouterr()
    assert env("list", "--json") == 0
    return json.loads(capsys.readouterr().out)


def many_services(base_image: str, count: int) -> str:
    """`count` services (a save takes long enough to be killed in the middle of it); the first is
    the kv the test tool configures."""
    service = "    image: {}\n    command: [httpd, -f, -p, '8080', -h, /etc]\n    ports: [8080]\n"
    return "services:\n" + "".join(f"  {'kv' if n == 0 else f's{n}'}:\n" + service.format(base_image)
                                   for n in range(count))


def test_a_save_killed_half_way_leaves_no_images_and_gives_its_version_back(
        container_org, base_image, engine_view, capsys, wait_until, kill_tree, tmp_path):
    org = container_org(compose=many_services(base_image, 12), validate=["wget -qO- http://s11:8080/passwd"])
    root = tmp_path / "containers"
    # The real engine, slowed down after each commit: the kill lands between two commits.
    slow = tmp_path / "slow-engine"
    slow.mkdir()
    (slow / "podman").write_text(f'#!/bin/sh\n{shutil.which("podman")} "$@"; status=$?\n'
                                 '[ "$1" = commit ] && sleep 5\nexit $status\n')
    (slow / "podman").chmod(0o755)
    environ = {**os.environ, "PATH": f"{slow}{os.pathsep}{os.environ['PATH']}"}
    build = subprocess.Popen([CLI, "env", "build", *LINE], cwd=org, start_new_session=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ)
    # The save has begun once its staging directory exists and one image is committed.
    wait_until(lambda: any((root / "tmp").glob("*.saving")) and engine_view.images(_key(root)), build)
    kill_tree(build.pid)
    build.wait(timeout=30)
    capsys.readouterr()
    assert env("list", "--json") == 0
    out, err = capsys.readouterr()
    assert "recovered: template minimal-current-v1 (saving when its process ended)" in err, (out, err)
    assert json.loads(out)["templates"] == [] and json.loads(out)["environments"] == []
    assert engine_view.images(_key(root)) == [] and engine_view.nothing_running(_key(root))
    assert list((root / "tmp").iterdir()) == []
    # The interrupted save's version is free again.
    assert env("build", *LINE) == 0
    assert [t["version"] for t in listing(capsys)["templates"]] == [1]


def _key(root: Path) -> str:
    import hashlib

    return hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]


def test_a_registry_down_during_gc_keeps_the_template_undeployable_until_it_is_back(
        container_org, make_service_image, start_registry, capsys):
    registry = start_registry()
    org = container_org(settings={"registry": registry.address, "registry-insecure": True})
    for _ in range(2):
        assert env("build", *LINE) == 0 and env("verify", "--latest", *LINE) == 0
    older = min(listing(capsys)["templates"], key=lambda t: t["version"])
    manifest = json.loads(Path(older["detail"]["manifest"]).read_text())
    pushed = [run["pushed"] for run in manifest["services"].values()]

    registry.stop()
    # In a process of its own: the gc has ended (as a Jenkins build does) when the registry is back.
    gc = subprocess.run([CLI, "env", "gc", *LINE, "--keep", "1"], cwd=org, capture_output=True, text=True,
                        timeout=120)
    assert gc.returncode == 1, gc.stdout + gc.stderr
    err = gc.stderr
    assert "Retrying" not in err  # urllib3's attempts are not the user's business; the error is
    assert f"template {older['id']}: not deleted, the registry failed" in err and "unreachable" in err
    assert "Traceback" not in err
    # Marked deleting: listed as such, and a deploy of it is refused.
    assert next(t for t in listing(capsys)["templates"] if t["id"] == older["id"])["status"] == "deleting"
    assert env("deploy", "--template", older["id"]) == 1
    assert "cannot be deployed" in capsys.readouterr().err

    registry.start()
    # The gc that was interrupted is gone: the next command finishes its delete, registry included.
    capsys.readouterr()
    assert env("list", "--json") == 0
    out, err = capsys.readouterr()
    assert f"recovered: template {older['id']} (deleting when its process ended)" in err
    assert older["id"] not in {t["id"] for t in json.loads(out)["templates"]}
    client = Registry(insecure=True)
    assert not any(client.exists(ref) for ref in pushed)
    client.close()
    assert org.is_dir()


def test_a_lost_manifest_marks_the_template_failed_and_nothing_deploys_it(container_org, capsys):
    container_org()
    assert env("build", *LINE) == 0 and env("verify", "--latest", *LINE) == 0
    template = listing(capsys)["templates"][0]
    Path(template["detail"]["manifest"]).unlink()
    capsys.readouterr()
    assert env("list", "--json") == 0
    out, err = capsys.readouterr()
    assert f"template {template['id']} marked failed: its manifest is missing" in err
    assert json.loads(out)["templates"][0]["status"] == "failed"
    assert env("deploy", *LINE) == 1
    assert "no verified template" in capsys.readouterr().err


def test_a_lost_catalog_is_rebuilt_and_the_templates_still_deploy(container_org, engine_view, capsys, tmp_path):
    container_org()
    assert env("build", *LINE) == 0 and env("verify", "--latest", *LINE) == 0
    before = listing(capsys)["templates"]
    (tmp_path / "containers" / "catalog.sqlite").unlink()
    capsys.readouterr()
    assert env("list", "--json") == 0
    out, err = capsys.readouterr()
    assert "recovered: catalog missing: rebuilt from 1 template(s)" in err
    assert [(t["id"], t["status"]) for t in json.loads(out)["templates"]] == [(t["id"], t["status"]) for t in before]
    assert env("deploy", *LINE) == 0
    env_id = listing(capsys)["environments"][0]["id"]
    assert env("destroy", env_id) == 0


def test_an_org_without_compose_names_the_missing_key(container_org, capsys):
    org = container_org()
    data = yaml.safe_load((org / "delivery.yaml").read_text())
    del data["environments"]["variants"][0]["compose"]
    (org / "delivery.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    assert env("build", *LINE) == 1
    err = capsys.readouterr().err
    assert "environments.variants[0].compose: required key is missing" in err
