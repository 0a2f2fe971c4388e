"""``env export TEMPLATE -o FILE``: a container template as a Compose file.

The base ``Provider.export_compose`` refuses (the local provider's templates are directory
snapshots); what the CLI does with a provider that can export (write the YAML atomically, never
over an existing file without --force, nothing on error) is tested with a small provider defined
here. The container provider's own export is tested with that provider.
"""

from __future__ import annotations

import os
import stat

import pytest
import yaml

from jjb_envdelivery.cli import env as env_cli
from jjb_envdelivery.environments.catalog import Template
from jjb_envdelivery.environments.provider import Provider, ProviderError

REFUSAL = ("jjb-envdelivery: error: the local provider's templates are not container images; "
           "env export needs the container provider")
COMPOSE = {"name": "minimal-current-v1",
           "services": {"auth-service": {"image": "reg/auth-service@sha256:" + "a" * 64, "restart": "unless-stopped"},
                        "api": {"image": "reg/api@sha256:" + "b" * 64, "depends_on": ["auth-service"]}},
           "networks": {"default": {"name": "envdelivery"}}}


def _error(cli, capsys, *argv) -> str:
    capsys.readouterr()
    assert cli(*argv) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.out == ""
    return captured.err.strip()


def _entries(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- the base refusal, with the local provider ------------------------------------------------------

def test_local_templates_cannot_be_exported_and_nothing_is_written(workspace, cli, capsys):
    assert cli("env", "build", "--variant", "minimal", "--release", "current") == 0
    before = _entries(workspace)
    assert _error(cli, capsys, "env", "export", "minimal-current-v1", "-o", "compose.yaml") == REFUSAL
    assert _error(cli, capsys, "env", "export", "minimal-current-v1") == REFUSAL  # compose.yaml by default
    assert _entries(workspace) == before  # no compose.yaml, no temporary file


def test_unknown_template_is_not_found(workspace, cli, capsys):
    assert _error(cli, capsys, "env", "export", "nope", "-o", "compose.yaml") == (
        "jjb-envdelivery: error: no template 'nope' (env list shows the existing ones)")
    assert not (workspace / "compose.yaml").exists()


def test_the_base_provider_refuses_with_its_own_name():
    class Other(ComposeProvider):
        name = "mycloud"
        export_compose = Provider.export_compose

    with pytest.raises(ProviderError, match="^the mycloud provider's templates are not container images; "
                                            "env export needs the container provider$"):
        Other({}, ".").export_compose(TEMPLATE)


# -- the CLI's writing, with a provider that exports ------------------------------------------------

TEMPLATE = Template(id="minimal-current-v1", variant="minimal", release="current", version=1, status="verified")


class ComposeProvider(Provider):
    """Only a catalog of one template and an export; ``before_export`` runs first (a test's hook)."""

    name = "compose-test"
    before_export = None

    def export_compose(self, template: Template) -> dict:
        if self.before_export:
            self.before_export()
        return {**COMPOSE, "name": template.id}

    def list_templates(self) -> list[Template]:
        return [TEMPLATE]

    def list_environments(self):
        return []

    def _unused(self, *args, **kwargs):
        raise AssertionError("env export must not call this")

    provision = run = save_template = deploy = destroy = set_status = set_pinned = delete_template = _unused


@pytest.fixture
def exporting(workspace, monkeypatch):
    """The workspace's org file, with ComposeProvider as its provider; returns the provider class."""
    monkeypatch.setattr(env_cli, "open_provider", lambda org: ComposeProvider({}, org.org_dir))
    monkeypatch.setattr(ComposeProvider, "before_export", None)
    return ComposeProvider


def test_export_writes_the_compose_file(exporting, workspace, cli, capsys):
    old_umask = os.umask(0o027)
    try:
        capsys.readouterr()
        assert cli("env", "export", "minimal-current-v1", "-o", "compose.yaml") == 0
    finally:
        os.umask(old_umask)
    assert capsys.readouterr().out == (
        "wrote compose.yaml: run it with docker compose -f compose.yaml up -d (or podman-compose)\n")
    written = workspace / "compose.yaml"
    text = written.read_text()
    assert yaml.safe_load(text) == COMPOSE
    # In the provider's order, not sorted: name first, services before networks, api after auth-service.
    assert [line.split(":")[0] for line in text.splitlines() if not line.startswith(" ")] == [
        "name", "services", "networks"]
    assert text.index("auth-service:") < text.index("api:")
    assert stat.S_IMODE(written.stat().st_mode) == 0o640  # an ordinary file under the umask, not 0600
    assert [p for p in _entries(workspace) if p.endswith(".tmp")] == []


def test_export_into_another_directory(exporting, workspace, cli, capsys, tmp_path):
    out = tmp_path / "elsewhere" / "stack.yml"
    out.parent.mkdir()
    capsys.readouterr()
    assert cli("env", "export", "minimal-current-v1", "--output", out) == 0
    assert capsys.readouterr().out == f"wrote {out}: run it with docker compose -f {out} up -d (or podman-compose)\n"
    assert yaml.safe_load(out.read_text()) == COMPOSE
    assert _entries(out.parent) == ["stack.yml"]


def test_export_never_overwrites_without_force(exporting, workspace, cli, capsys):
    existing = workspace / "compose.yaml"
    existing.write_text("mine\n")
    assert _error(cli, capsys, "env", "export", "minimal-current-v1", "-o", "compose.yaml") == (
        "jjb-envdelivery: error: compose.yaml exists; give --force to replace it")
    assert existing.read_text() == "mine\n"

    # A dangling symlink is a name in use too.
    (workspace / "link.yaml").symlink_to(workspace / "missing.yaml")
    assert _error(cli, capsys, "env", "export", "minimal-current-v1", "-o", "link.yaml") == (
        "jjb-envdelivery: error: link.yaml exists; give --force to replace it")
    assert not (workspace / "missing.yaml").exists()

    capsys.readouterr()
    assert cli("env", "export", "minimal-current-v1", "-o", "compose.yaml", "--force") == 0
    assert yaml.safe_load(existing.read_text()) == COMPOSE
    assert [p for p in _entries(workspace) if p.endswith(".tmp")] == []


def test_a_file_created_while_exporting_is_not_overwritten(exporting, workspace, cli, capsys):
    target = workspace / "compose.yaml"
    exporting.before_export = lambda self: target.write_text("written meanwhile\n")
    assert _error(cli, capsys, "env", "export", "minimal-current-v1", "-o", "compose.yaml") == (
        "jjb-envdelivery: error: compose.yaml exists; give --force to replace it")
    assert target.read_text() == "written meanwhile\n"
    assert [p for p in _entries(workspace) if p.endswith(".tmp")] == []


def test_export_errors_leave_nothing_behind(exporting, workspace, cli, capsys):
    assert _error(cli, capsys, "env", "export", "minimal-current-v1", "-o", "no/such/dir/compose.yaml") == (
        "jjb-envdelivery: error: cannot write no/such/dir/compose.yaml: No such file or directory")

    # --force over a directory: the rename fails, the directory and its contents stay, no temporary file.
    (workspace / "taken").mkdir()
    (workspace / "taken" / "keep").write_text("keep\n")
    before = _entries(workspace)
    message = _error(cli, capsys, "env", "export", "minimal-current-v1", "-o", "taken", "--force")
    assert message.startswith("jjb-envdelivery: error: cannot write taken: ")
    assert _entries(workspace) == before and _entries(workspace / "taken") == ["keep"]

    # The provider failing: nothing written.
    def fail(self):
        raise ProviderError("registry unreachable")
    exporting.before_export = fail
    assert _error(cli, capsys, "env", "export", "minimal-current-v1") == "jjb-envdelivery: error: registry unreachable"
    assert _entries(workspace) == before
