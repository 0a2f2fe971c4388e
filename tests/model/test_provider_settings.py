"""Provider settings are checked when the org file loads: an unknown provider, an unknown or
misspelled setting, a wrong type or a missing required setting is a problem at its own line,
reported with every other problem of the file, without credentials or network."""

from __future__ import annotations

import textwrap

import pytest

from jjb_envdelivery.environments import command
from jjb_envdelivery.errors import ConfigError
from jjb_envdelivery.model.loader import load_organisation

# `provider:` is line 18; PROVIDER, its block, starts at line 19 (PROVIDER_LINE + 1).
ORG = """\
organisation: acme
jobs-repo:
  url: https://git.example.com/jobs.git
  branch: main
updater:
  label: jjb
  credential-id: jjb-ini
release-lines:
  - name: current
    branch: main
projects:
  - name: payments
    repo: {url: https://git.example.com/payments.git, branch: main}
    jobs-path: jenkins
    services: [billing]
environments:
  provisioning-tool: {service: billing, artifact: 'dist/*.tgz', command: 'tool up'}
  provider:
PROVIDER
  variants:
    - name: small
      services: [billing]
"""
PROVIDER_LINE = 18

COMMANDS = {op: f"jenga {op}" for op in command.REQUIRED}


def write(tmp_path, provider: str, org: str = ORG):
    path = tmp_path / "delivery.yaml"
    path.write_text(org.replace("PROVIDER", textwrap.indent(textwrap.dedent(provider).strip("\n"), "    ")))
    return path


def problems(tmp_path, provider: str, org: str = ORG) -> tuple[list[str], str]:
    path = write(tmp_path, provider, org)
    with pytest.raises(ConfigError) as caught:
        load_organisation(path)
    return [str(p) for p in caught.value.problems], str(caught.value)


def at(tmp_path, line: int) -> str:
    return f"{tmp_path / 'delivery.yaml'}:{line}: "


def test_unknown_provider_names_the_line_of_name_and_the_installed_providers(tmp_path):
    found, message = problems(tmp_path, """\
        name: locall
        settings: {root: /srv/envs}
    """)
    assert found == [at(tmp_path, PROVIDER_LINE + 1) + "environments.provider.name: unknown provider 'locall'; "
                     "installed providers: command, container, local, skytap"]
    assert message.startswith("invalid organisation (1 problem):\n")


@pytest.mark.parametrize("provider, settings, line, expected", [
    ("local", "roots: /srv/envs", 3, "environments.provider.settings.roots: unknown key 'roots'; "
                                     "expected one of: root, clone, command-timeout"),
    ("skytap", "base-template: '1'\nwait-timout: 30", 4, "environments.provider.settings.wait-timout: "
                                                          "unknown key 'wait-timout'; expected one of: base-template"),
    ("command", "\n".join(f"{k}: {v}" for k, v in {**COMMANDS, "timeuot": 5}.items()), 13,
     "environments.provider.settings.timeuot: unknown key 'timeuot'; expected one of: provision, run"),
])
def test_unknown_setting(tmp_path, provider, settings, line, expected):
    block = f"name: {provider}\nsettings:\n" + textwrap.indent(settings, "  ")
    found, _ = problems(tmp_path, block)
    assert len(found) == 1 and found[0].startswith(at(tmp_path, PROVIDER_LINE + line) + expected), found


@pytest.mark.parametrize("provider, settings, line, expected", [
    ("local", "command-timeout: soon", 3, "environments.provider.settings.command-timeout: "
                                          "expected a number, got 'soon'"),
    ("local", "root: [a, b]", 3, "environments.provider.settings.root: expected a string, got a list"),
    ("local", "root: /srv\nclone: fast", 4, "environments.provider.settings.clone: "
                                            "'fast' is not one of: auto, reflink, copy"),
    ("skytap", "base-template: '1'\npage-size: 2.5", 4, "environments.provider.settings.page-size: "
                                                        "expected a whole number, got 2.5"),
    ("skytap", "base-template: true", 3, "environments.provider.settings.base-template: "
                                         "expected a string or a whole number, got True"),
    ("skytap", "base-template: '1'\nurl:", 4, "environments.provider.settings.url: "
                                              "expected a string, got an empty value"),
    ("command", "\n".join(f"{k}: {v}" for k, v in {**COMMANDS, "save": "{cmd: x}"}.items()), 5,
     "environments.provider.settings.save: expected a string, got a mapping"),
    ("command", "\n".join(f"{k}: {v}" for k, v in {**COMMANDS, "timeout": "''"}.items()), 13,
     "environments.provider.settings.timeout: expected a number, got ''"),
])
def test_wrong_type(tmp_path, provider, settings, line, expected):
    block = f"name: {provider}\nsettings:\n" + textwrap.indent(settings, "  ")
    found, _ = problems(tmp_path, block)
    assert found == [at(tmp_path, PROVIDER_LINE + line) + expected]


def test_missing_required_skytap(tmp_path):
    found, _ = problems(tmp_path, "name: skytap\nsettings:\n  url: https://skytap.example.com")
    assert found == [at(tmp_path, PROVIDER_LINE + 3) + "environments.provider.settings.base-template: "
                     "required key is missing (the template build environments start from)"]


def test_missing_settings_section_is_reported_at_the_provider(tmp_path):
    found, _ = problems(tmp_path, "name: skytap")
    assert found == [at(tmp_path, PROVIDER_LINE + 1) + "environments.provider.settings.base-template: "
                     "required key is missing (the template build environments start from)"]


def test_missing_required_commands(tmp_path):
    settings = {k: v for k, v in COMMANDS.items() if k not in ("run", "destroy")}
    block = "name: command\nsettings:\n" + "".join(f"  {k}: {v}\n" for k, v in settings.items())
    found, message = problems(tmp_path, block)
    assert found == [at(tmp_path, PROVIDER_LINE + 3) + f"environments.provider.settings.{op}: required key is "
                     f"missing (the shell command that does {op})" for op in ("run", "destroy")]
    assert message.startswith("invalid organisation (2 problems):")


def test_local_needs_no_settings_and_gets_its_defaults(tmp_path):
    org = load_organisation(write(tmp_path, "name: local"))
    assert org.environments.provider.name == "local"
    assert org.environments.provider.settings == {"root": "~/.local/share/jjb-envdelivery", "clone": "auto",
                                                  "command-timeout": 3600.0}


def test_checked_settings_are_kept_with_defaults(tmp_path):
    org = load_organisation(write(tmp_path, "name: skytap\ncredential-id: skytap-api\n"
                                            "settings: {base-template: 1234567, wait-timeout: 30}"))
    settings = org.environments.provider.settings
    assert settings["base-template"] == 1234567 and settings["wait-timeout"] == 30.0
    assert settings["user-env"] == "SKYTAP_USER" and settings["page-size"] == 100


def test_credentials_in_the_org_file_are_refused_with_a_hint(tmp_path):
    found, _ = problems(tmp_path, "name: skytap\nsettings:\n  base-template: '1'\n  token: tok-123")
    assert len(found) == 1
    assert found[0].startswith(at(tmp_path, PROVIDER_LINE + 4) + "environments.provider.settings.token: "
                               "unknown key 'token'; expected one of: base-template, user-env, token-env")
    assert "credentials never go in the org file" in found[0] and "tok-123" not in found[0]


def test_settings_must_be_a_mapping_without_duplicates(tmp_path):
    found, _ = problems(tmp_path, "name: local\nsettings: [root]")
    assert found == [at(tmp_path, PROVIDER_LINE + 2) + "environments.provider.settings: expected a mapping"]
    found, _ = problems(tmp_path, "name: local\nsettings:\n  root: /a\n  root: /b")
    assert found == [at(tmp_path, PROVIDER_LINE + 4) + "environments.provider.settings.root: duplicate key 'root'"]


def test_settings_problems_come_with_every_other_problem(tmp_path):
    org = ORG.replace("  label: jjb", "  label: [jjb]")
    org = org.replace("      services: [billing]\n", "      services: [nope]\n")
    found, message = problems(tmp_path, "name: local\nsettings:\n  clone: fast\n  roots: /srv", org)
    assert found == [
        at(tmp_path, 6) + "updater.label: expected a string, got a list",
        at(tmp_path, PROVIDER_LINE + 3) + "environments.provider.settings.clone: 'fast' is not one of: "
                                          "auto, reflink, copy",
        at(tmp_path, PROVIDER_LINE + 4) + "environments.provider.settings.roots: unknown key 'roots'; "
                                          "expected one of: root, clone, command-timeout",
        at(tmp_path, PROVIDER_LINE + 7) + "environments.variants[0].services: unknown service 'nope': "
                                          "no project owns it (or write 'all')",
    ]
    assert message.startswith("invalid organisation (4 problems):")


@pytest.fixture
def odd_providers(tmp_path, monkeypatch):
    """Entry points of an installed distribution: one whose module does not exist, one that is
    not a Provider class."""
    site = tmp_path / "site"
    dist = site / "odd_providers-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: odd-providers\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[jjb_envdelivery.providers]\n"
                                           "broken = no_such_module_for_tests:Provider\n"
                                           "notaprovider = json:dumps\n")
    monkeypatch.syspath_prepend(str(site))
    return tmp_path / "org"


def test_a_provider_that_fails_to_import_is_a_problem(odd_providers):
    odd_providers.mkdir()
    found, _ = problems(odd_providers, "name: broken")
    assert found == [at(odd_providers, PROVIDER_LINE + 1) + "environments.provider.name: provider 'broken' "
                     "(no_such_module_for_tests:Provider) cannot be loaded: ModuleNotFoundError: "
                     "No module named 'no_such_module_for_tests'"]
    found, _ = problems(odd_providers, "name: notaprovider")
    assert len(found) == 1
    assert "environments.provider.name: provider 'notaprovider' (<function dumps" in found[0]
    assert "is not a Provider class declaring its SETTINGS" in found[0]
    found, _ = problems(odd_providers, "name: nope")
    assert "installed providers: broken, command, container, local, notaprovider, skytap" in found[0]


# -- the Jenkins credential a provider reads (issue 13, defect 4) -----------------------------

def test_skytap_without_a_credential_id_is_a_problem_at_the_provider(tmp_path):
    found, message = problems(tmp_path, "name: skytap\nsettings: {base-template: '1'}")
    assert found == [at(tmp_path, PROVIDER_LINE + 1) + "environments.provider.credential-id: required key is "
                     "missing: the skytap provider reads a username/password credential (username in SKYTAP_USER, "
                     "password in SKYTAP_TOKEN); give the ID of the Jenkins credential that holds it (never the "
                     "secret itself)"]
    assert message.startswith("invalid organisation (1 problem):")


def test_skytap_credential_is_bound_to_the_variables_its_settings_name(tmp_path):
    org = load_organisation(write(tmp_path, "name: skytap\ncredential-id: skytap-api\nsettings: {base-template: '1'}"))
    credential = org.environments.provider.credential
    assert (credential.kind, credential.credential_id) == ("username-password-separated", "skytap-api")
    assert dict(credential.variables) == {"username": "SKYTAP_USER", "password": "SKYTAP_TOKEN"}
    org = load_organisation(write(tmp_path, "name: skytap\ncredential-id: skytap-api\n"
                                            "settings: {base-template: '1', user-env: ST_USER, token-env: ST_KEY}"))
    assert dict(org.environments.provider.credential.variables) == {"username": "ST_USER", "password": "ST_KEY"}


@pytest.mark.parametrize("name, settings", [
    ("local", ""),
    ("command", "settings:\n" + "".join(f"  {k}: {v}\n" for k, v in COMMANDS.items())),
])
def test_a_provider_that_reads_no_credential_refuses_one(tmp_path, name, settings):
    found, _ = problems(tmp_path, f"name: {name}\ncredential-id: cloud-api\n{settings}")
    assert found == [at(tmp_path, PROVIDER_LINE + 2) + f"environments.provider.credential-id: the {name} provider "
                     "reads no credential, so the environment jobs bind none: remove credential-id"]
    assert load_organisation(write(tmp_path, f"name: {name}\n{settings}")).environments.provider.credential is None


@pytest.mark.parametrize("block, line, expected", [
    ("name: skytap\ncredential-id: ''\nsettings: {base-template: '1'}", 2,
     "environments.provider.credential-id: must not be empty"),
    ("name: skytap\ncredential-id:\nsettings: {base-template: '1'}", 2,
     "environments.provider.credential-id: expected a string, got None"),
    ("name: skytap\ncredential-id: skytap api\nsettings: {base-template: '1'}", 2,
     "environments.provider.credential-id: 'skytap api' is not a valid name"),
    ("name: skytap\ncredential-id: skytap-api\nsettings:\n  base-template: '1'\n  user-env: SKYTAP USER", 5,
     "environments.provider.settings.user-env: 'SKYTAP USER' is not an environment variable name"),
    ("name: skytap\ncredential-id: skytap-api\nsettings:\n  base-template: '1'\n  token-env: SKYTAP_USER", 5,
     "environments.provider.settings.token-env: 'SKYTAP_USER' is already bound to the credential's username"),
])
def test_credential_mistakes_name_the_line(tmp_path, block, line, expected):
    found, _ = problems(tmp_path, block)
    assert len(found) == 1 and found[0].startswith(at(tmp_path, PROVIDER_LINE + line) + expected), found
