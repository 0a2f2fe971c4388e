"""Every template's bill of materials (``Template.services``), how two of them differ
(``diff_services``) and the commands that show them: ``env list`` and ``env diff``.

The rules on their own first, then through the CLI over local templates whose services really
changed between builds: the stand-in tool reports other versions (ENVTOOL_VERSIONS) and a new
provisioning tool artifact replaces the old one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery.environments.catalog import Template, diff_services

LINE = ["--variant", "minimal", "--release", "current"]
HASH_A, HASH_B = "a" * 64, "b" * 64


def _t(artifacts: dict, version: int = 1) -> Template:
    return Template(id=f"minimal-current-v{version}", variant="minimal", release="current", version=version,
                    status="verified", artifacts=artifacts)


# -- the rules --------------------------------------------------------------------------------------

def test_services_are_sorted_and_keep_what_identifies_a_build():
    template = _t({
        "vnet-manager": {"version": "2.0", "digest": f"sha256:{HASH_A}", "image": "reg/vnet-manager:2.0",
                         "commit": "0123abc", "pulled-at": "yesterday"},
        "envtool": {"file": "envtool-1.0.tar.gz", "version": "1.0", "sha256": HASH_A},
        "auth-service": {"version": "1.4.2"},
        "legacy": "0.9",  # a bare version, as an older record may hold
        "no-version": {"sha256": HASH_B},
    })
    services = template.services
    assert list(services) == ["auth-service", "envtool", "legacy", "no-version", "vnet-manager"]
    assert services["auth-service"] == {"version": "1.4.2"}
    assert services["envtool"] == {"version": "1.0", "sha256": HASH_A, "file": "envtool-1.0.tar.gz"}
    assert services["legacy"] == {"version": "0.9"}
    assert services["no-version"] == {"version": None, "sha256": HASH_B}
    # Only the known fields, in their order; what else a provider recorded stays in "artifacts".
    assert services["vnet-manager"] == {"version": "2.0", "digest": f"sha256:{HASH_A}",
                                        "image": "reg/vnet-manager:2.0", "commit": "0123abc"}
    assert list(services["vnet-manager"]) == ["version", "digest", "image", "commit"]


def test_to_json_has_services_beside_the_artifacts_and_round_trips():
    artifacts = {"b": {"version": "2"}, "a": {"version": "1", "sha256": HASH_A, "extra": 1}}
    document = _t(artifacts).to_json()
    assert document["artifacts"] == artifacts
    assert document["services"] == {"a": {"version": "1", "sha256": HASH_A}, "b": {"version": "2"}}
    # Derived, not stored: a template read back from its JSON has the same artifacts and services.
    again = Template.from_metadata(document["id"], document)
    assert again.artifacts == artifacts and again.services == document["services"]
    assert "services" not in _t(artifacts).metadata()


def test_diff_services_sorts_every_service_into_one_kind():
    before = _t({
        "same": {"version": "1", "sha256": HASH_A, "file": "same-1.tgz"},
        "renamed-file": {"version": "1", "sha256": HASH_A, "file": "old-name.tgz"},
        "retagged": {"version": "1", "digest": f"sha256:{HASH_A}", "image": "reg/x:1"},
        "bumped": {"version": "1.4.2", "sha256": HASH_A},
        "rebuilt": {"version": "2.0", "digest": f"sha256:{HASH_A}"},
        "recommitted": {"version": "3", "commit": "aaaa"},
        "gains-digest": {"version": "5"},
        "dropped": {"version": "0.1"},
    }, version=1)
    after = _t({
        "same": {"version": "1", "sha256": HASH_A, "file": "same-1.tgz"},
        "renamed-file": {"version": "1", "sha256": HASH_A, "file": "new-name.tgz"},
        "retagged": {"version": "1", "digest": f"sha256:{HASH_A}", "image": "mirror/x:latest"},
        "bumped": {"version": "1.4.3", "sha256": HASH_A},
        "rebuilt": {"version": "2.0", "digest": f"sha256:{HASH_B}"},
        "recommitted": {"version": "3", "commit": "bbbb"},
        "gains-digest": {"version": "5", "digest": f"sha256:{HASH_B}"},
        "new": {"version": "7.0", "digest": f"sha256:{HASH_B}", "image": "reg/new:7.0"},
    }, version=2)
    diff = diff_services(before, after)
    assert diff.differs
    assert diff.to_json() == {
        "from": "minimal-current-v1", "to": "minimal-current-v2",
        "added": {"new": {"version": "7.0", "digest": f"sha256:{HASH_B}", "image": "reg/new:7.0"}},
        "removed": {"dropped": {"version": "0.1"}},
        "changed": {
            "bumped": {"from": {"version": "1.4.2", "sha256": HASH_A}, "to": {"version": "1.4.3", "sha256": HASH_A}},
            "gains-digest": {"from": {"version": "5"}, "to": {"version": "5", "digest": f"sha256:{HASH_B}"}},
            "rebuilt": {"from": {"version": "2.0", "digest": f"sha256:{HASH_A}"},
                        "to": {"version": "2.0", "digest": f"sha256:{HASH_B}"}},
            "recommitted": {"from": {"version": "3", "commit": "aaaa"}, "to": {"version": "3", "commit": "bbbb"}},
        },
        # Where it came from (image reference, file name) is not what it is.
        "unchanged": ["renamed-file", "retagged", "same"],
    }
    assert json.loads(json.dumps(diff.to_json())) == diff.to_json()


def test_diff_report_lines():
    before = _t({"auth-service": {"version": "1.4.2", "sha256": "abc" + "0" * 61},
                 "image-store": {"version": "2.0", "digest": f"sha256:{HASH_A}"},
                 "old": {"version": "0.1"}, "recommitted": {"version": "3", "commit": "a" * 40},
                 "same": {"version": "1"}})
    after = _t({"auth-service": {"version": "1.4.3", "sha256": "def" + "0" * 61},
                "image-store": {"version": "2.0", "digest": f"sha256:{HASH_B}"},
                "new-service": {"version": "7.0", "digest": f"sha256:{HASH_B}"},
                "recommitted": {"version": "3", "commit": "b" * 40},
                "same": {"version": "1"}}, version=2)
    assert diff_services(before, after).report() == [
        f"added    new-service   7.0 (sha256:{'b' * 12}…)",
        "removed  old           0.1",
        "changed  auth-service  1.4.2 -> 1.4.3 (sha256:abc000000000… -> sha256:def000000000…)",
        f"changed  image-store   2.0 (sha256:{'a' * 12}… -> sha256:{'b' * 12}…)",
        f"changed  recommitted   3 (commit {'a' * 12}… -> {'b' * 12}…)",
        "unchanged: 1 service",
    ]


def test_identical_templates_differ_in_nothing():
    template = _t({"a": {"version": "1"}, "b": {"version": "2", "digest": f"sha256:{HASH_A}"}})
    diff = diff_services(template, template)
    assert not diff.differs
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == ({}, {}, {}, ["a", "b"])
    assert diff.report() == ["unchanged: 2 services"]
    assert diff_services(_t({}), _t({})).report() == ["unchanged: 0 services"]


# -- through the CLI, over local templates ----------------------------------------------------------

def _json(cli, capsys, *argv) -> dict:
    capsys.readouterr()
    assert cli(*argv) == 0
    return json.loads(capsys.readouterr().out)


def _error(cli, capsys, *argv) -> str:
    capsys.readouterr()
    assert cli(*argv) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.out == ""
    return captured.err.strip()


@pytest.fixture
def two_builds(workspace, cli, monkeypatch):
    """minimal/current v1 and v2, between which auth-service went 1.0 -> 1.1 and the provisioning
    tool envtool 1.0 -> 1.1 (a new artifact: another sha256)."""
    assert cli("env", "build", *LINE) == 0
    tool_dir = workspace / ".envdelivery" / "tool"
    (tool_dir / "envtool-1.0.tar.gz").unlink()
    (tool_dir / "envtool-1.1.tar.gz").write_bytes(b"envtool 1.1")
    monkeypatch.setenv("ENVTOOL_VERSIONS", json.dumps({"auth-service": "1.1"}))
    assert cli("env", "build", *LINE) == 0
    monkeypatch.delenv("ENVTOOL_VERSIONS")
    return workspace


def test_list_shows_every_templates_bill_of_materials(two_builds, cli, capsys):
    listing = _json(cli, capsys, "env", "list", "--json")
    v1, v2 = sorted(listing["templates"], key=lambda t: t["version"])
    assert v1["services"]["auth-service"] == {"version": "1.0"}
    assert v2["services"]["auth-service"] == {"version": "1.1"}
    assert v1["services"]["envtool"]["version"] == "1.0" and v2["services"]["envtool"]["version"] == "1.1"
    assert set(v2["services"]["envtool"]) == {"version", "sha256", "file"}
    assert list(v1["services"]) == sorted(v1["services"]) and len(v1["services"]) > 2
    assert all(entry.get("version") for t in (v1, v2) for entry in t["services"].values())
    assert v1["artifacts"]["envtool"]["file"] == "envtool-1.0.tar.gz"  # still there, as before

    capsys.readouterr()
    assert cli("env", "list") == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["TEMPLATE", "VARIANT", "RELEASE", "VERSION", "STATUS", "PINNED", "SERVICES",
                              "CREATED", "BUILD"]
    column = header.index("SERVICES")
    counts = {row.split()[0]: row[column:].split()[0] for row in rows}
    assert counts == {"minimal-current-v2": str(len(v2["services"])), "minimal-current-v1": str(len(v1["services"]))}


def test_diff_shows_exactly_what_changed_between_two_builds(two_builds, cli, capsys):
    listing = _json(cli, capsys, "env", "list", "--json")
    v1, v2 = sorted(listing["templates"], key=lambda t: t["version"])
    sha1, sha2 = v1["services"]["envtool"]["sha256"], v2["services"]["envtool"]["sha256"]
    assert sha1 != sha2
    unchanged = len(v1["services"]) - 2

    capsys.readouterr()
    assert cli("env", "diff", "minimal-current-v1", "minimal-current-v2") == 0
    assert capsys.readouterr().out.splitlines() == [
        "minimal-current-v1 (minimal current v1, built) -> minimal-current-v2 (minimal current v2, built)",
        "changed  auth-service  1.0 -> 1.1",
        f"changed  envtool       1.0 -> 1.1 (sha256:{sha1[:12]}… -> sha256:{sha2[:12]}…)",
        f"unchanged: {unchanged} services",
    ]

    diff = _json(cli, capsys, "env", "diff", "minimal-current-v1", "minimal-current-v2", "--json")
    assert diff == {
        "from": "minimal-current-v1", "to": "minimal-current-v2", "added": {}, "removed": {},
        "changed": {"auth-service": {"from": {"version": "1.0"}, "to": {"version": "1.1"}},
                    "envtool": {"from": v1["services"]["envtool"], "to": v2["services"]["envtool"]}},
        "unchanged": sorted(set(v1["services"]) - {"auth-service", "envtool"}),
    }
    # The line's newest against the one before it, by default; or the versions asked for.
    assert _json(cli, capsys, "env", "diff", *LINE, "--json") == diff
    assert _json(cli, capsys, "env", "diff", *LINE, "--from", "1", "--to", "2", "--json") == diff
    backwards = _json(cli, capsys, "env", "diff", *LINE, "--from", "2", "--to", "1", "--json")
    assert (backwards["from"], backwards["to"]) == ("minimal-current-v2", "minimal-current-v1")
    assert backwards["changed"]["auth-service"] == {"from": {"version": "1.1"}, "to": {"version": "1.0"}}

    # No difference is a report too: exit 0.
    capsys.readouterr()
    assert cli("env", "diff", "minimal-current-v2", "minimal-current-v2") == 0
    assert capsys.readouterr().out.splitlines()[1:] == [f"unchanged: {len(v2['services'])} services"]


def test_diff_between_variants_shows_added_and_removed_services(workspace, cli, capsys):
    assert cli("env", "build", *LINE) == 0
    assert cli("env", "build", "--variant", "full", "--release", "current") == 0
    listing = _json(cli, capsys, "env", "list", "--json")
    services = {t["id"]: t["services"] for t in listing["templates"]}
    minimal, full = services["minimal-current-v1"], services["full-current-v1"]
    extra = sorted(set(full) - set(minimal))
    assert extra and set(minimal) <= set(full)

    diff = _json(cli, capsys, "env", "diff", "minimal-current-v1", "full-current-v1", "--json")
    assert diff["added"] == {name: full[name] for name in extra}
    assert (diff["removed"], diff["changed"], diff["unchanged"]) == ({}, {}, sorted(minimal))
    back = _json(cli, capsys, "env", "diff", "full-current-v1", "minimal-current-v1", "--json")
    assert back["removed"] == diff["added"] and back["added"] == {}

    capsys.readouterr()
    assert cli("env", "diff", "full-current-v1", "minimal-current-v1") == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [line.split()[:2] for line in lines[:-1]] == [["removed", name] for name in extra]
    assert lines[-1] == f"unchanged: {len(minimal)} services"


def test_diff_of_unknown_templates_and_versions(workspace, cli, capsys):
    assert cli("env", "build", *LINE) == 0
    assert _error(cli, capsys, "env", "diff", "minimal-current-v1", "nope") == (
        "jjb-envdelivery: error: no template 'nope' (env list shows the existing ones)")
    assert _error(cli, capsys, "env", "diff", "nope", "minimal-current-v1") == (
        "jjb-envdelivery: error: no template 'nope' (env list shows the existing ones)")
    assert _error(cli, capsys, "env", "diff", *LINE, "--from", "1", "--to", "7") == (
        "jjb-envdelivery: error: no template minimal/current v7 (never built, or deleted by gc); "
        "existing: v1 (built)")
    assert _error(cli, capsys, "env", "diff", *LINE) == (
        "jjb-envdelivery: error: minimal-current-v1 (minimal current v1, built) is the oldest template of "
        "minimal/current: nothing before it to compare with (give --from; existing: v1 (built))")
    assert _error(cli, capsys, "env", "diff", "--variant", "minimal", "--release", "upcoming") == (
        "jjb-envdelivery: error: no templates of minimal/upcoming (env list shows what exists)")


@pytest.mark.parametrize("argv", [
    ["minimal-current-v1"],
    ["minimal-current-v1", "minimal-current-v1", "minimal-current-v1"],
    ["minimal-current-v1", "minimal-current-v1", "--variant", "minimal"],
    ["minimal-current-v1", "minimal-current-v1", "--to", "1"],
    ["--variant", "minimal"],
    ["--from", "1", "--to", "1"],
    [],
], ids=" ".join)
def test_diff_needs_two_ids_or_a_line(workspace, cli, capsys, argv):
    assert _error(cli, capsys, "env", "diff", *argv) == (
        "jjb-envdelivery: error: give two template ids (env diff T1 T2), or --variant and --release "
        "[--from N] [--to M]")


# -- every provider records it --------------------------------------------------------------------

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "command-provider" / "envprovider.py"
REMOTE_TOOL = "envtool provision-remote --config {config} --artifacts {artifacts} --target {target}"


@pytest.fixture(params=["local", "skytap", "command"])
def any_provider(request, make_workspace, tmp_path, monkeypatch, skytap_module):
    """A workspace on each non-container provider (the container provider's bill of materials is
    checked against the real engine: tests/environments/containers/)."""
    if request.param == "local":
        yield make_workspace({"name": "local", "settings": {"root": str(tmp_path / "store")}})
    elif request.param == "skytap":
        monkeypatch.setenv("SKYTAP_USER", "ci")
        monkeypatch.setenv("SKYTAP_TOKEN", "tok-123")
        with skytap_module.SkytapEmulator(busy_polls=1) as emu:
            base = next(t["id"] for t in emu.templates.values() if t["name"] == "base")
            ws = make_workspace({"name": "skytap", "credential-id": "skytap-api", "settings": {
                "url": emu.url, "base-template": base, "poll-interval": 0, "retry-delay": 0, "wait-timeout": 30,
                "retry-timeout": 30}})
            data = yaml.safe_load((ws / "delivery.yaml").read_text())
            data["environments"]["provisioning-tool"]["command"] = REMOTE_TOOL
            (ws / "delivery.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
            yield ws
    else:
        monkeypatch.setenv("ENVPROVIDER_ROOT", str(tmp_path / "sample-root"))
        operations = ("provision", "run", "save", "deploy", "destroy", "list-templates", "update-template",
                      "delete-template", "list-environments", "update-environment")
        yield make_workspace({"name": "command", "settings": {op: f"{sys.executable} {SAMPLE} {op}"
                                                              for op in operations}})


def test_every_provider_records_lists_and_diffs_the_services(any_provider, cli, capsys):
    assert cli("env", "build", *LINE) == 0 and cli("env", "verify", "--latest", *LINE) == 0
    tool_dir = any_provider / ".envdelivery" / "tool"  # a new provisioning tool between the builds
    (tool_dir / "envtool-1.0.tar.gz").unlink()
    (tool_dir / "envtool-1.1.tar.gz").write_bytes(b"envtool 1.1")
    assert cli("env", "build", *LINE) == 0
    v1, v2 = sorted(_json(cli, capsys, "env", "list", "--json")["templates"], key=lambda t: t["version"])
    for template in (v1, v2):
        assert "auth-service" in template["services"] and len(template["services"]) > 2
        assert all(entry.get("version") for entry in template["services"].values()), template["services"]
        assert template["services"]["envtool"]["sha256"]
    assert (v1["services"]["envtool"]["version"], v2["services"]["envtool"]["version"]) == ("1.0", "1.1")
    diff = _json(cli, capsys, "env", "diff", v1["id"], v2["id"], "--json")
    assert list(diff["changed"]) == ["envtool"] and "auth-service" in diff["unchanged"]
    # A version of the line is deployable by its number.
    capsys.readouterr()
    assert cli("env", "deploy", *LINE, "--version", "1") == 0
    assert v1["id"] in capsys.readouterr().out
