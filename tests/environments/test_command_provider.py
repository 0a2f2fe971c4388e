"""The `command` provider over the sample provider (examples/command-provider/envprovider.py): the
protocol is a shipped JSON Schema, every answer is checked strictly (one-line errors naming the
operation, the JSON path and what was expected), and the sample passes it through a whole lifecycle."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from jjb_envdelivery.environments import command
from jjb_envdelivery.environments.command import CommandProvider, protocol
from jjb_envdelivery.environments.process import my_token, new_lease
from jjb_envdelivery.environments.provider import ProviderError

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "command-provider" / "envprovider.py"
LINE = ("--variant", "minimal", "--release", "current")
EXPIRED = "2000-01-01T00:00:00Z"


def sample_settings() -> dict:
    return {op: f"{sys.executable} {SAMPLE} {op}" for op in command.REQUIRED}


@pytest.fixture
def sample(tmp_path, monkeypatch) -> Path:
    """The sample provider's root (ENVPROVIDER_ROOT)."""
    root = tmp_path / "sample-root"
    monkeypatch.setenv("ENVPROVIDER_ROOT", str(root))
    return root


def metadata(root: Path, kind: str) -> dict:
    """The sample's records of `kind` (environments or templates), by id."""
    return {p.stem: json.loads(p.read_text()) for p in (root / kind).glob("*.json")}


def fake(tmp_path: Path, answer) -> str:
    """A command that reads its request and prints `answer` (a JSON value, or text)."""
    path = tmp_path / f"answer-{len(list(tmp_path.glob('answer-*')))}.json"
    path.write_text(answer if isinstance(answer, str) else json.dumps(answer))
    return f"cat >/dev/null; cat {path}"


def error_lines(err: str) -> list[str]:
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.startswith("jjb-envdelivery: error:")]


# -- the schema ---------------------------------------------------------------------------------
def test_the_protocol_is_a_valid_schema_with_every_operation():
    schema = protocol()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for operation in command.REQUIRED:
        assert {f"{operation}.request", f"{operation}.answer"} <= set(schema["$defs"]), operation


def test_the_protocol_is_shipped_in_the_package():
    """An installed jjb-envdelivery reads the schema from its package: setup.cfg (of this checkout)
    must ship it, and the installed package (in .ci/run, a real install) must hold it."""
    import configparser
    from fnmatch import fnmatch
    from importlib import resources

    setup = configparser.ConfigParser()
    setup.read(Path(__file__).resolve().parents[2] / "setup.cfg")
    shipped = setup["options.package_data"].get("jjb_envdelivery.environments", "")
    assert any(fnmatch(command.PROTOCOL_FILE, glob.strip()) for glob in shipped.split(",")), shipped
    installed = resources.files("jjb_envdelivery.environments") / command.PROTOCOL_FILE
    assert json.loads(installed.read_text())["$defs"], installed


def test_list_environments_is_required_at_the_settings_line(make_workspace, cli, capsys):
    settings = {op: cmd for op, cmd in sample_settings().items() if op != "list-environments"}
    ws = make_workspace({"name": "command", "settings": settings})
    capsys.readouterr()
    assert cli("env", "list") == 1
    lines = (ws / "delivery.yaml").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.strip().startswith("provision:"))
    assert (f"{ws / 'delivery.yaml'}:{line}: environments.provider.settings.list-environments: required key "
            "is missing (the shell command that does list-environments)") in capsys.readouterr().err


def test_requests_are_checked_before_the_command_runs(tmp_path):
    ran = tmp_path / "ran"
    provider = CommandProvider({**sample_settings(), "deploy": f"touch {ran}"}, tmp_path)
    with pytest.raises(ProviderError) as caught:
        provider.call("deploy", {"template": "tpl-1", "purpose": "deploy"})
    assert str(caught.value) == ("command provider: deploy request: 'lease' is a required property (recorded on "
                                 "the environment until update-environment) (a bug of jjb-envdelivery: the "
                                 "request breaks command_protocol.json)")
    assert not ran.exists()


# -- the sample through the CLI -----------------------------------------------------------------
@pytest.mark.slow
def test_build_verify_deploy_gc_with_the_sample(make_workspace, sample, cli, capsys):
    make_workspace({"name": "command", "settings": sample_settings()})
    for _ in range(2):
        assert cli("env", "build", *LINE) == 0
        assert cli("env", "verify", "--latest", *LINE) == 0
    out = capsys.readouterr().out
    assert "envtool: --smoke ok (11 hosts)" in out  # the validation's own output, through run
    templates = metadata(sample, "templates")
    assert sorted((t["version"], t["status"], t["lease"]) for t in templates.values()) == [
        (1, "verified", None), (2, "verified", None)]
    assert all(t["detail"]["files"] > 11 for t in templates.values())
    assert metadata(sample, "environments") == {}  # build and verify environments are gone

    assert cli("env", "deploy", *LINE, "--version", "1") == 0
    out = capsys.readouterr().out
    env_id = out.split("environment ", 1)[1].split()[0]
    env_dir = sample / "environments" / env_id
    assert f"  path: {env_dir}\n" in out and f"  use: cd {env_dir} && ENVDELIVERY_ENV={env_dir} <command>" in out
    first = next(t for t in templates.values() if t["version"] == 1)
    deployed = metadata(sample, "environments")[env_id]
    assert (deployed["template"], deployed["state"], deployed["lease"]) == (first["id"], "running", None)
    assert (env_dir / "environment.json").is_file()

    second = next(t for t in templates.values() if t["version"] == 2)
    assert cli("env", "build", *LINE) == 0  # v3, built: waits for verification
    assert cli("env", "verify", "--latest", *LINE) == 0
    capsys.readouterr()
    assert cli("env", "gc", *LINE, "--keep", "1") == 0
    out = capsys.readouterr().out
    assert f"kept {first['id']} (minimal current v1, verified): in use by {env_id}" in out
    assert f"deleted {second['id']} (minimal current v2, verified): older than the newest 1 verified" in out
    left = metadata(sample, "templates")
    assert sorted(t["version"] for t in left.values()) == [1, 3]
    assert sorted(p.name for p in (sample / "templates").iterdir() if p.is_dir()) == sorted(left)
    assert cli("env", "destroy", env_id) == 0
    assert metadata(sample, "environments") == {} and not env_dir.exists()


def test_failed_validation_prints_the_output_and_registers_nothing(make_workspace, sample, cli, capsys,
                                                                   monkeypatch):
    make_workspace({"name": "command", "settings": sample_settings()})
    monkeypatch.setenv("ENVTOOL_FAIL_CHECK", "1")
    assert cli("env", "build", *LINE) == 1
    captured = capsys.readouterr()
    assert "envtool: check failed (ENVTOOL_FAIL_CHECK)" in captured.out
    [error] = error_lines(captured.err)
    assert "'envtool check --smoke' exited with status 1" in error
    assert metadata(sample, "templates") == {} and metadata(sample, "environments") == {}


def test_not_found_is_one_line(make_workspace, sample, cli, capsys):
    make_workspace({"name": "command", "settings": sample_settings()})
    capsys.readouterr()
    assert cli("env", "destroy", "env-99") == 1
    assert error_lines(capsys.readouterr().err) == ["jjb-envdelivery: error: destroy: no environment 'env-99'"]


# -- strict answers -----------------------------------------------------------------------------
ENV = {"id": "deploy-1", "variant": "minimal", "release": "current", "purpose": "deploy", "template": "tpl-1",
       "state": "running", "created_at": "2026-01-01T00:00:00Z", "access": {"ssh": "me@host"}, "versions": {},
       "lease": None}
TEMPLATE = {"id": "tpl-1", "variant": "minimal", "release": "current", "version": 1, "status": "verified",
            "pinned": False, "artifacts": {}, "build": {}, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z", "lease": None, "previous-status": None}
NO_TEMPLATE = {k: v for k, v in ENV.items() if k != "template"}


@pytest.mark.parametrize("operation, answer, command_line, message", [
    # The field whose absence let gc delete a template in use (issue 15).
    ("list-environments", [ENV, ENV, NO_TEMPLATE], ("list",),
     "list-environments answer [2]: 'template' is a required property (null for an environment not deployed "
     "from a template)"),
    ("list-environments", [{**ENV, "lease": {"owner": "h:1:2"}}], ("list",),
     "list-environments answer [0].lease: 'expires' is a required property (a UTC time YYYY-MM-DDTHH:MM:SSZ)"),
    ("list-templates", [{**TEMPLATE, "version": "1"}], ("list",),
     "list-templates answer [0].version: '1' is not of type 'integer' (1, 2, ... per variant and release line, "
     "assigned by the tool)"),
    ("list-templates", [{**TEMPLATE, "colour": "red"}], ("list",),
     "list-templates answer [0]: Additional properties are not allowed ('colour' was unexpected)"),
    ("list-templates", {"templates": []}, ("list",),
     "list-templates answer: {'templates': []} is not of type 'array' (every template, saving and deleting ones "
     "included)"),
    # What the old protocol accepted from save, and list-templates then refused.
    ("save", {"id": "tpl-9"}, ("build", *LINE),
     "save answer: 'variant' is a required property (the variant it was built from)"),
    ("save", {**TEMPLATE, "status": "verified"}, ("build", *LINE),
     "save answer status: 'built' was expected (built: the template is complete)"),
    ("run", {"exit-status": 0}, ("build", *LINE),
     "run answer: 'output' is a required property (what the command printed, stdout and stderr together)"),
    ("provision", {"id": "x", "access": {}, "versions": {}}, ("build", *LINE),
     "provision answer access: {} should be non-empty (how to reach the environment: at least one entry, e.g. "
     "{\"ssh\": \"user@host\"})"),
    ("provision", "ok\n", ("build", *LINE), "provision (CMD) printed something that is not JSON: 'ok'"),
])
def test_a_wrong_answer_is_a_one_line_error(make_workspace, sample, cli, capsys, tmp_path, operation, answer,
                                            command_line, message):
    fake_command = fake(tmp_path, answer)
    make_workspace({"name": "command", "settings": {**sample_settings(), operation: fake_command}})
    capsys.readouterr()
    assert cli("env", *command_line) == 1
    assert error_lines(capsys.readouterr().err) == [
        "jjb-envdelivery: error: command provider: " + message.replace("CMD", repr(fake_command))]
    # A build that failed on an answer leaves nothing behind in the (real) sample.
    assert metadata(sample, "environments") == {}
    assert [t for t in metadata(sample, "templates").values() if t["status"] != "verified"] == []


@pytest.mark.slow
def test_gc_stops_on_a_listing_without_template_and_deletes_nothing(make_workspace, sample, cli, capsys, tmp_path):
    make_workspace({"name": "command", "settings": sample_settings()})
    for _ in range(2):
        assert cli("env", "build", *LINE) == 0 and cli("env", "verify", "--latest", *LINE) == 0
    before = metadata(sample, "templates")
    make_workspace({"name": "command", "settings": {**sample_settings(),
                                                    "list-environments": fake(tmp_path, [NO_TEMPLATE])}}, name="ws2")
    capsys.readouterr()
    assert cli("env", "gc", *LINE, "--keep", "1") == 1
    assert "'template' is a required property" in capsys.readouterr().err
    assert metadata(sample, "templates") == before


def test_a_failing_command_with_an_error_object(make_workspace, sample, cli, capsys, tmp_path):
    failing = f"cat >/dev/null; echo '{json.dumps({'error': 'quota exceeded'})}'; exit 2"
    make_workspace({"name": "command", "settings": {**sample_settings(), "list-templates": failing}})
    capsys.readouterr()
    assert cli("env", "list") == 1
    assert error_lines(capsys.readouterr().err) == [
        f"jjb-envdelivery: error: command provider: list-templates ({failing!r}) failed with exit status 2: "
        "quota exceeded"]


# -- the sample's own guarantees -----------------------------------------------------------------
def sample_call(operation: str, request: dict, root: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, str(SAMPLE), operation], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env={"ENVPROVIDER_ROOT": str(root)})
    process.stdin.write(json.dumps(request))
    process.stdin.close()
    return process


def answer_of(process: subprocess.Popen) -> dict:
    out = process.stdout.read()
    assert process.wait() == 0, out
    return json.loads(out)


def test_concurrent_saves_get_distinct_versions(sample):
    config = {"name": "tiny", "hosts": []}
    env = answer_of(sample_call("provision", {
        "config": config, "variant": "minimal", "release": "current", "purpose": "build", "artifacts": "/",
        "tool-command": "true", "lease": new_lease()}, sample))
    saves = [sample_call("save", {"environment": env["id"], "lease": new_lease(), "template": {
        "variant": "minimal", "release": "current", "artifacts": {}, "build": {"number": str(n)}}}, sample)
        for n in range(6)]
    answers = [answer_of(p) for p in saves]
    assert sorted(a["version"] for a in answers) == [1, 2, 3, 4, 5, 6]
    for item in answers:
        assert command.problem("save.answer", item) is None
        assert command.problem("list-templates.answer", [item]) is None


# -- recovery ------------------------------------------------------------------------------------
def test_recover_removes_only_what_a_gone_owner_left(sample, tmp_path):
    provider = CommandProvider(sample_settings(), tmp_path)
    gone = {"owner": my_token(), "expires": EXPIRED}  # expired: its owner may no longer work on it
    request = {"config": {"name": "tiny", "hosts": []}, "variant": "minimal", "release": "current",
               "purpose": "build", "artifacts": "/", "tool-command": "true"}
    abandoned = provider.call("provision", {**request, "lease": gone})["id"]
    live = provider.call("provision", {**request, "lease": new_lease()})["id"]
    kept = provider.call("provision", {**request, "lease": new_lease()})["id"]
    provider.call("update-environment", {"environment": kept, "lease": None})
    template = {"variant": "minimal", "release": "current", "artifacts": {}, "build": {}}
    in_use, unused, untouched = (provider.call("save", {"environment": kept, "template": template,
                                                        "lease": new_lease()})["id"] for _ in range(3))
    for template_id in (in_use, unused):  # a gc that died between marking and deleting
        provider.call("update-template", {"template": template_id, "expect-status": "built", "status": "deleting",
                                          "lease": gone, "previous-status": "built"})
    environments = metadata(sample, "environments")
    environments[kept]["template"] = in_use  # as if deployed from it
    (sample / "environments" / f"{kept}.json").write_text(json.dumps(environments[kept]))

    cleaned = provider.recover()
    assert sorted(cleaned) == sorted([f"environment {abandoned} (build, its process ended)",
                                      f"template {in_use}: delete undone, in use by {kept}",
                                      f"template {unused} (deleting when its process ended)"])
    assert sorted(metadata(sample, "environments")) == sorted([live, kept])
    templates = metadata(sample, "templates")
    assert sorted(templates) == sorted([in_use, untouched])
    assert (templates[in_use]["status"], templates[in_use]["lease"]) == ("built", None)
    assert provider.recover() == []
