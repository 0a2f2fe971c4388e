"""Bad input gives a clear error (no traceback) and exit status 1."""

from __future__ import annotations

import pytest
import yaml


def _set(workspace, **environments):
    org_file = workspace / "delivery.yaml"
    data = yaml.safe_load(org_file.read_text())
    for key, value in environments.items():
        data["environments"][key] = value
    org_file.write_text(yaml.safe_dump(data, sort_keys=False))


def _line_of(path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def _fails(cli, capsys, *argv) -> str:
    capsys.readouterr()
    assert cli(*argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("jjb-envdelivery: error: ") and "Traceback" not in err
    return err


def test_unknown_variant_and_release_line(workspace, cli, capsys):
    err = _fails(cli, capsys, "env", "build", "--variant", "huge", "--release", "current")
    assert "unknown variant 'huge'; delivery.yaml defines: minimal, full, almost-production" in err
    err = _fails(cli, capsys, "env", "gc", "--variant", "almost-production", "--release", "previous", "--keep", "1")
    assert "is not built for release line 'previous'; its release lines are: current, upcoming" in err


def test_unknown_provider(workspace, cli, capsys):
    _set(workspace, provider={"name": "vmware", "settings": {}})
    err = _fails(cli, capsys, "env", "list")
    org_file = workspace / "delivery.yaml"
    assert (f"{org_file}:{_line_of(org_file, 'name: vmware')}: environments.provider.name: unknown provider "
            "'vmware'; installed providers: command, container, local, skytap") in err


def test_unknown_provider_setting(workspace, cli, capsys):
    _set(workspace, provider={"name": "local", "settings": {"roots": "/tmp/x"}})
    err = _fails(cli, capsys, "env", "list")
    org_file = workspace / "delivery.yaml"
    assert (f"{org_file}:{_line_of(org_file, 'roots:')}: environments.provider.settings.roots: unknown key "
            "'roots'; expected one of: root, clone, command-timeout") in err


@pytest.mark.parametrize("argv, message", [
    (("env", "verify", "--template", "minimal-current-v9"), "no template 'minimal-current-v9'"),
    (("env", "deploy", "--template", "minimal-current-v9"), "no template 'minimal-current-v9'"),
    (("env", "pin", "minimal-current-v9"), "no template 'minimal-current-v9'"),
    (("env", "destroy", "deploy-x"), "no environment 'deploy-x'"),
    (("env", "deploy", "--variant", "minimal", "--release", "current"), "no verified template of minimal/current"),
    (("env", "deploy", "--variant", "minimal", "--release", "current", "--version", "3"),
     "no template minimal/current v3 (never built, or deleted by gc); existing: none"),
    (("env", "verify", "--latest", "--variant", "minimal", "--release", "current"),
     "no built template of minimal/current is waiting for verification"),
])
def test_missing_templates_and_environments(workspace, cli, capsys, argv, message):
    assert message in _fails(cli, capsys, *argv)


def test_provider_errors(workspace, cli, capsys, tmp_path):
    _set(workspace, **{"provisioning-tool": {"service": "envtool", "artifact": "dist/envtool-*.tar.gz",
                                             "command": "envtool provision --target {target}; exit 3"}})
    err = _fails(cli, capsys, "env", "build", "--variant", "minimal", "--release", "current")
    assert "the provisioning tool failed (exit status 3)" in err
    assert list((tmp_path / "store" / "environments").iterdir()) == []

    (workspace / ".envdelivery" / "tool" / "envtool-1.0.tar.gz").unlink()
    err = _fails(cli, capsys, "env", "build", "--variant", "minimal", "--release", "current")
    assert "no provisioning tool artifact matching 'envtool-*.tar.gz' in .envdelivery/tool" in err


def test_bad_environment_configuration(workspace, cli, capsys, tmp_path):
    config = tmp_path / "env.yaml"
    config.write_text(yaml.safe_dump({"release": "current", "color": "red",
                                      "hosts": [{"name": "a", "services": ["no-such-service"], "network": "x"}]}))
    err = _fails(cli, capsys, "env", "provision", "--config", config)
    assert err.startswith("jjb-envdelivery: error: invalid environment configuration (3 problems):")
    assert f"{config}:{_line_of(config, 'color')}: color: unknown key 'color'" in err
    assert f"{config}:{_line_of(config, 'no-such-service')}: hosts[0].services: unknown service 'no-such-service'" \
        in err
    assert f"{config}:{_line_of(config, 'network: x')}: hosts[0].network: 'x' is not one of networks[].name" in err
    err = _fails(cli, capsys, "env", "provision", "--config", tmp_path / "missing.yaml")
    assert f"{tmp_path / 'missing.yaml'}: cannot read the file: No such file or directory" in err
    err = _fails(cli, capsys, "env", "provision", "--config", config, "--on-jenkins")
    assert "invalid environment configuration" in err
