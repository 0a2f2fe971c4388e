"""The `command` provider over a stand-in for an organisation's own tool (JSON on stdin/stdout)."""

from __future__ import annotations

import json
import sys

import pytest

# A tiny "Jenga": environments and templates are entries of one JSON state file.
JENGA = '''#!{python}
import json, os, sys, time
from pathlib import Path
state_file = Path(os.environ["JENGA_STATE"])
state = json.loads(state_file.read_text()) if state_file.exists() else {{"envs": {{}}, "templates": {{}}, "n": 0}}
op, request = sys.argv[1], json.load(sys.stdin)
def answer(value, status=0):
    state_file.write_text(json.dumps(state))
    print(json.dumps(value))
    sys.exit(status)
def new_id(kind):
    state["n"] += 1
    return kind + "-" + str(state["n"])
if op == "broken":
    print("this is not json")
elif op == "fail":
    answer({{"error": "quota exceeded"}}, 2)
elif op == "slow":
    time.sleep(30)  # the stall under test: the provider's 0.5 s timeout must kill it (not a wait)
elif op == "provision":
    env = new_id("env")
    state["envs"][env] = {{"id": env, "variant": request["variant"], "release": request["release"],
                          "purpose": request["purpose"], "template": None, "state": "running",
                          "created_at": "now", "access": {{"ssh": "jenga@" + env}},
                          "hosts": [h["name"] for h in request["config"]["hosts"]]}}
    answer({{**state["envs"][env], "versions": {{"auth-service": "7.1"}}}})
elif op == "run":
    # Jenga runs the command inside its environment; here it records it and reports JENGA_RUN_STATUS.
    state["envs"][request["environment"]].setdefault("ran", []).append(request["command"])
    state.setdefault("ran", []).append([request["environment"], request["command"]])
    answer({{"exit-status": int(os.environ.get("JENGA_RUN_STATUS", "0"))}})
elif op == "save":
    template = new_id("tpl")
    state["templates"][template] = {{**request["template"], "id": template}}
    answer({{"id": template}})
elif op == "deploy":
    if request["template"] not in state["templates"]:
        answer({{"error": "no such template", "not-found": True}}, 1)
    env = new_id("env")
    t = state["templates"][request["template"]]
    state["envs"][env] = {{"id": env, "variant": t["variant"], "release": t["release"], "purpose": request["purpose"],
                          "template": t["id"], "state": "running", "created_at": "now", "access": {{}}}}
    answer(state["envs"][env])
elif op == "destroy":
    if state["envs"].pop(request["environment"], None) is None:
        answer({{"error": "no such environment", "not-found": True}}, 1)
    answer({{}})
elif op == "list-templates":
    answer(list(state["templates"].values()))
elif op == "update-template":
    t = state["templates"][request["template"]]
    t.update({{k: v for k, v in request.items() if k in ("status", "pinned")}})
    answer(t)
elif op == "delete-template":
    state["templates"].pop(request["template"])
    answer({{}})
elif op == "list-environments":
    answer(list(state["envs"].values()))
'''

OPERATIONS = ("provision", "run", "save", "deploy", "destroy", "list-templates", "update-template",
              "delete-template", "list-environments")


@pytest.fixture
def jenga(tmp_path, monkeypatch):
    script = tmp_path / "jenga"
    script.write_text(JENGA.format(python=sys.executable))
    script.chmod(0o755)
    state = tmp_path / "jenga-state.json"
    monkeypatch.setenv("JENGA_STATE", str(state))
    settings = {op: f"{script} {op}" for op in OPERATIONS}
    return settings, state


def test_lifecycle(make_workspace, jenga, cli, capsys):
    settings, state = jenga
    make_workspace({"name": "command", "settings": settings})
    line = ("--variant", "minimal", "--release", "current")
    for _ in range(3):
        assert cli("env", "build", *line) == 0
        assert cli("env", "verify", "--latest", *line) == 0
    capsys.readouterr()
    assert cli("env", "deploy", *line) == 0
    assert "environment env-" in capsys.readouterr().out
    data = json.loads(state.read_text())
    assert data["ran"][:2] == [["env-1", "envtool check --smoke"], ["env-3", "envtool check --smoke"]]
    assert {t["version"]: t["status"] for t in data["templates"].values()} == {1: "verified", 2: "verified",
                                                                              3: "verified"}
    assert data["templates"]["tpl-2"]["artifacts"]["auth-service"] == {"version": "7.1"}
    deployed = [e for e in data["envs"].values()]
    assert [(e["purpose"], e["template"]) for e in deployed] == [("deploy", "tpl-8")]
    assert cli("env", "gc", *line, "--keep", "1") == 0
    out = capsys.readouterr().out
    assert "deleted tpl-2 (minimal current v1, verified): older than the newest 1 verified" in out
    assert "deleted tpl-5 (minimal current v2, verified): older than the newest 1 verified" in out
    assert "kept tpl-8 (minimal current v3, verified): in use by env-10" in out
    assert sorted(json.loads(state.read_text())["templates"]) == ["tpl-8"]


def test_failed_validation_registers_nothing(make_workspace, jenga, cli, capsys, monkeypatch):
    settings, state = jenga
    make_workspace({"name": "command", "settings": settings})
    monkeypatch.setenv("JENGA_RUN_STATUS", "4")
    assert cli("env", "build", "--variant", "minimal", "--release", "current") == 1
    assert "'envtool check --smoke' exited with status 4" in capsys.readouterr().err
    data = json.loads(state.read_text())
    assert data["templates"] == {} and data["envs"] == {}


@pytest.mark.parametrize("operation, message", [
    ("fail", "list-templates ('{script} fail') failed with exit status 2: quota exceeded"),
    ("broken", "list-templates ('{script} broken') printed something that is not JSON: 'this is not json'"),
    ("slow", "list-templates ('{script} slow') did not finish within 0.5s and was killed"),
])
def test_tool_failures(make_workspace, jenga, cli, capsys, tmp_path, operation, message):
    settings, _ = jenga
    make_workspace({"name": "command", "settings": {**settings, "list-templates": f"{tmp_path}/jenga {operation}",
                                                    "timeout": 0.5}})
    capsys.readouterr()
    assert cli("env", "list") == 1
    assert message.format(script=tmp_path / "jenga") in capsys.readouterr().err


def test_not_found_and_missing_settings(make_workspace, jenga, cli, capsys):
    settings, _ = jenga
    make_workspace({"name": "command", "settings": settings})
    capsys.readouterr()
    assert cli("env", "destroy", "env-99") == 1
    assert "destroy: no such environment" in capsys.readouterr().err
    ws = make_workspace({"name": "command", "settings": {"provision": "x"}}, name="ws2")
    assert cli("env", "list") == 1
    err = capsys.readouterr().err
    assert err.startswith("jjb-envdelivery: error: invalid organisation (7 problems):")
    # Reported at the settings mapping, which is where a missing key would go.
    lines = (ws / "delivery.yaml").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "provision: x" in text)
    for operation in ("run", "save", "deploy", "destroy", "list-templates", "update-template", "delete-template"):
        assert (f"{ws / 'delivery.yaml'}:{line}: environments.provider.settings.{operation}: required key is "
                f"missing (the shell command that does {operation})") in err
