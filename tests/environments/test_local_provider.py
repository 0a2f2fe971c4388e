"""The local provider's whole lifecycle, in-process and small: build, verify, deploy (a clone of the
template), destroy, pin, gc.

test_generated_jobs and test_kill cover this end to end, through the generated jobs' shell steps
and with builds killed; both are marked slow, so this is what `pytest -m "not slow"` runs of it.
"""

from __future__ import annotations

import json
from pathlib import Path

LINE = ["--variant", "minimal", "--release", "current"]


def _listing(cli, capsys) -> dict:
    capsys.readouterr()
    assert cli("env", "list", "--json") == 0
    return json.loads(capsys.readouterr().out)


def _statuses(listing: dict) -> dict:
    return {t["version"]: t["status"] for t in listing["templates"]}


def test_build_verify_deploy_destroy_gc(workspace, cli, capsys, tmp_path):
    store = tmp_path / "store"
    for _ in range(2):
        assert cli("env", "build", *LINE) == 0
    assert _statuses(_listing(cli, capsys)) == {1: "built", 2: "built"}
    assert cli("env", "verify", "--latest", *LINE) == 0
    assert cli("env", "verify", "--template", "minimal-current-v1") == 0
    listing = _listing(cli, capsys)
    assert _statuses(listing) == {1: "verified", 2: "verified"}
    assert listing["environments"] == []  # build and verify tore theirs down

    # An engineer's environment is a clone: changing it leaves the template as it was.
    capsys.readouterr()
    assert cli("env", "deploy", "--template", "minimal-current-v1") == 0
    printed = capsys.readouterr().out
    deployed = _listing(cli, capsys)["environments"]
    assert [e["template"] for e in deployed] == ["minimal-current-v1"]
    env_dir = Path(deployed[0]["access"]["path"])
    # The deploy says how to reach the environment and how to remove it.
    assert f"  path: {env_dir}\n" in printed and f"cd {env_dir} && ENVDELIVERY_ENV={env_dir}" in printed
    assert f"destroy it with: jjb-envdelivery env destroy {deployed[0]['id']}" in printed
    (env_dir / "auth-service" / "auth-service.service").write_text("changed by the engineer\n")
    snapshot = store / "templates" / "minimal-current-v1" / "tree" / "auth-service" / "auth-service.service"
    assert snapshot.read_text() == "auth-service running\n"

    # gc keeps what is in use or pinned, beyond the newest --keep verified.
    capsys.readouterr()
    assert cli("env", "gc", *LINE, "--keep", "1") == 0
    assert (f"kept minimal-current-v1 (minimal current v1, verified): in use by {deployed[0]['id']}"
            in capsys.readouterr().out)
    assert cli("env", "destroy", deployed[0]["id"]) == 0
    assert not env_dir.exists()
    assert cli("env", "pin", "minimal-current-v1") == 0
    capsys.readouterr()
    assert cli("env", "gc", *LINE, "--keep", "1") == 0
    assert "kept minimal-current-v1 (minimal current v1, verified): pinned (golden)" in capsys.readouterr().out
    assert cli("env", "unpin", "minimal-current-v1") == 0
    capsys.readouterr()
    assert cli("env", "gc", *LINE, "--keep", "1") == 0
    assert "deleted minimal-current-v1 (minimal current v1, verified)" in capsys.readouterr().out
    assert _statuses(_listing(cli, capsys)) == {2: "verified"}
    assert sorted(p.name for p in (store / "templates").iterdir()) == ["minimal-current-v2"]
    assert list((store / "environments").iterdir()) == []
    assert list((store / "tmp").iterdir()) == []
