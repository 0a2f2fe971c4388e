"""Environment configurations are checked like the org file: every problem at once, each with
file, line and field, as a ConfigError; what `env customize` writes reads back unchanged."""

from __future__ import annotations

import textwrap

import pytest

from jjb_envdelivery.environments import envconfig
from jjb_envdelivery.errors import ConfigError
from jjb_envdelivery.model.loader import load_organisation

VALID = """\
name: alice-auth
release: current
networks:
  - {name: default, subnet: 10.0.0.0/24}
hosts:
  - name: auth
    services: [auth-service, user-directory]
    network: default
    cpus: 2
    memory-mb: 2048
validate:
  - envtool check --smoke
"""


@pytest.fixture(scope="module")
def org(example_org_dir):
    return load_organisation(example_org_dir)


def write(tmp_path, text: str):
    path = tmp_path / "env.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, org, text: str, release: str | None = None) -> tuple[list[str], str]:
    with pytest.raises(ConfigError) as caught:
        envconfig.load_config(write(tmp_path, text), org, release)
    return [str(p) for p in caught.value.problems], str(caught.value)


def test_valid_configuration_gets_its_defaults(tmp_path, org):
    config = envconfig.load_config(write(tmp_path, VALID), org, "current")
    assert config["name"] == "alice-auth" and config["variant"] == "custom" and config["provider"] == "local"
    assert config["hosts"] == [{"name": "auth", "services": ["auth-service", "user-directory"], "network": "default",
                                "cpus": 2, "memory-mb": 2048}]
    assert envconfig.config_services(config) == ["auth-service", "user-directory"]


def test_what_customize_writes_reads_back(tmp_path, org):
    for variant in org.environments.variants:
        config = envconfig.variant_config(org, variant, variant.release_lines[0])
        path = tmp_path / f"{variant.name}.yaml"
        path.write_text(envconfig.dump(config))
        assert envconfig.load_config(path, org, variant.release_lines[0]) == config


def test_every_problem_at_once_with_file_and_line(tmp_path, org):
    text = """\
        name: alice auth
        release: current
        colour: blue
        networks:
          - {name: default, subnet: 10.0.0.0/24}
          - {name: default}
        hosts:
          - name: auth
            services: [auth-service, no-such-service]
            network: other
            cpus: two
            memory-mb: 0
            disk: 10
          - name: auth
            services: auth-service
          - services: []
        validate: envtool check
    """
    found, message = problems(tmp_path, org, text, release="previous")
    path = tmp_path / "env.yaml"
    assert found == [f"{path}:{line}: {problem}" for line, problem in [
        (3, "colour: unknown key 'colour'; expected one of: name, variant, release, provider, networks, hosts, "
            "validate"),
        (2, "release: 'current', but this job provisions release line 'previous'"),
        (1, "name: 'alice auth' must be letters, digits, '.', '_' and '-'"),
        (6, "networks[1].name: duplicate network 'default'"),
        (13, "hosts[0].disk: unknown key 'disk'; expected one of: name, services, network, cpus, memory-mb"),
        (9, "hosts[0].services: unknown service 'no-such-service'"),
        (10, "hosts[0].network: 'other' is not one of networks[].name"),
        (11, "hosts[0].cpus: expected a whole number, got 'two'"),
        (12, "hosts[0].memory-mb: expected a positive integer"),
        (14, "hosts[1].name: duplicate host 'auth'"),
        (15, "hosts[1].services: expected a list, got the scalar 'auth-service'"),
        (16, "hosts[2].name: required key is missing"),
        (16, "hosts[2].services: expected a list of at least one service"),
        (17, "validate: expected a list, got the scalar 'envtool check'"),
    ]]
    assert message.startswith("invalid environment configuration (14 problems):\n")


@pytest.mark.parametrize("text, expected", [
    ("release: past\nhosts: [{name: a, services: [envtool]}]",
     "env.yaml:1: release: 'past' is not a release line; known are: current, previous, upcoming"),
    ("hosts: [{name: a, services: [envtool]}]", "env.yaml:1: release: required key is missing"),
    ("release: current\nhosts: []", "env.yaml:2: hosts: expected a list of at least one host"),
    ("release: current\nprovider: skytap\nhosts: [{name: a, services: [envtool]}]",
     "env.yaml:2: provider: 'skytap', but the organisation's provider is 'local'"),
    ("release: current\nhosts: [{name: a, services: [envtool]}]\nvalidate: [[x]]",
     "env.yaml:3: validate[0]: expected a string, got a list"),
    ("- release: current", "env.yaml:1: expected a mapping with keys name, variant, release"),
    ("", "env.yaml: the file is empty; expected at least 'release' and 'hosts'"),
    ("release: current\nrelease: upcoming\nhosts: [{name: a, services: [envtool]}]",
     "env.yaml:2: release: duplicate key 'release'"),
])
def test_single_mistakes(tmp_path, org, text, expected):
    found, _ = problems(tmp_path, org, text)
    assert len(found) == 1 and expected in found[0], found


def test_a_yaml_syntax_error_is_one_problem_with_its_line(tmp_path, org):
    found, message = problems(tmp_path, org, "release: current\nhosts:\n  - name: [a\n    services: [envtool]\n")
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path / 'env.yaml'}:4: not valid YAML: ")
    assert message.startswith("invalid environment configuration (1 problem):")


def test_a_syntax_error_through_the_cli(workspace, cli, capsys, tmp_path):
    config = tmp_path / "env.yaml"
    config.write_text("release: current\nhosts: {name: [a\n")
    capsys.readouterr()
    assert cli("env", "provision", "--config", config) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"jjb-envdelivery: error: invalid environment configuration (1 problem):\n  {config}:3: "
                          "not valid YAML: ")
    assert "Traceback" not in err
