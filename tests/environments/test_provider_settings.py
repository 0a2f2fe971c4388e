"""Each shipped provider declares the settings it reads; the org loader's checked values are what
its constructor uses, and a provider constructed directly checks them the same way."""

from __future__ import annotations

import re
from importlib.metadata import entry_points

import pytest
import yaml

from jjb_envdelivery.environments import command, local, skytap
from jjb_envdelivery.environments.command import CommandProvider
from jjb_envdelivery.environments.containers import provider as container
from jjb_envdelivery.environments.containers.provider import ContainerProvider
from jjb_envdelivery.environments.local import LocalProvider
from jjb_envdelivery.environments.provider import ProviderError
from jjb_envdelivery.environments.registry import open_provider
from jjb_envdelivery.environments.skytap import SkytapProvider
from jjb_envdelivery.model.loader import load_organisation
from jjb_envdelivery.model.settings import Setting

COMMANDS = {op: f"jenga {op}" for op in command.REQUIRED}


def test_entry_points_name_the_shipped_classes():
    registered = {ep.name: ep.load() for ep in entry_points(group="jjb_envdelivery.providers")}
    assert registered == {"local": LocalProvider, "skytap": SkytapProvider, "command": CommandProvider,
                          "container": ContainerProvider}


@pytest.mark.parametrize("module, cls", [(local, LocalProvider), (skytap, SkytapProvider),
                                         (command, CommandProvider), (container, ContainerProvider)])
def test_declared_settings_are_the_documented_ones(module, cls):
    """The module docstring's example lists every setting, and only those."""
    block = module.__doc__.split("settings:\n", 1)[1].split("\n\n", 1)[0]
    documented = re.findall(r"^ {10}([a-z-]+):", block, re.M)
    assert all(isinstance(s, Setting) for s in cls.SETTINGS)
    assert sorted(s.name for s in cls.SETTINGS) == sorted(documented)


@pytest.fixture
def org_with(make_workspace):
    """org_with(provider) -> the example organisation loaded with that provider ({name, settings})."""
    return lambda provider: load_organisation(make_workspace(provider, name=provider["name"]))


def test_local_uses_the_checked_values(org_with):
    org = org_with({"name": "local", "settings": {"root": "store", "clone": "copy", "command-timeout": 20}})
    provider = open_provider(org)
    try:
        assert provider.root == org.org_dir / "store" and provider.root.is_dir()
        assert provider.clone_mode == "copy" and provider.timeout == 20.0
    finally:
        provider.close()


def test_skytap_uses_the_checked_values_and_needs_no_network(org_with, monkeypatch):
    org = org_with({"name": "skytap", "credential-id": "skytap-api", "settings": {
        "base-template": 42, "user-env": "MY_USER", "token-env": "MY_TOKEN", "url": "http://127.0.0.1:9/",
        "page-size": 5, "retry-delay": 1}})
    monkeypatch.delenv("MY_TOKEN", raising=False)
    with pytest.raises(ProviderError, match="set the environment variables MY_USER and MY_TOKEN"):
        open_provider(org)
    monkeypatch.setenv("MY_USER", "ci")
    monkeypatch.setenv("MY_TOKEN", "tok")
    provider = open_provider(org)
    try:
        assert provider.session.auth == ("ci", "tok")
        assert provider.url == "http://127.0.0.1:9" and provider.page_size == 5 and provider.retry_delay == 1.0
        assert provider.wait_timeout == 1800.0 and provider.prefix == "envdelivery"
        assert provider.settings["base-template"] == 42
    finally:
        provider.close()


def test_command_uses_the_checked_values(org_with):
    org = org_with({"name": "command", "settings": {**COMMANDS, "timeout": 7}})
    provider = open_provider(org)
    assert provider.timeout == 7.0


@pytest.mark.parametrize("cls, settings, message", [
    (LocalProvider, {"roots": "/x"}, "local provider: settings.roots: unknown key 'roots'; expected one of: root, "
                                     "clone, command-timeout"),
    (LocalProvider, {"clone": "fast"}, "local provider: settings.clone: 'fast' is not one of: auto, reflink, copy"),
    (CommandProvider, {"provision": "x", "timeout": "soon"},
     "command provider: settings.timeout: expected a number, got 'soon'; settings.run: required key is missing"),
    (SkytapProvider, {"url": "http://x"}, "skytap provider: settings.base-template: required key is missing"),
    (SkytapProvider, {"base-template": "1", "token": "t"}, "skytap provider: credentials never go in the org "
                                                           "file; name the environment variables that hold them "
                                                           "with user-env and token-env"),
])
def test_direct_construction_checks_the_same_way(cls, settings, message, tmp_path, monkeypatch):
    monkeypatch.setenv("JJB_ENVDELIVERY_LOCAL_ROOT", str(tmp_path / "store"))
    with pytest.raises(ProviderError) as caught:
        cls(settings, tmp_path)
    assert str(caught.value).startswith(message)


def test_the_example_organisation_opens_its_provider(example_org_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("JJB_ENVDELIVERY_LOCAL_ROOT", str(tmp_path / "store"))
    org = load_organisation(example_org_dir)
    assert yaml.safe_load((example_org_dir / "delivery.yaml").read_text())["environments"]["provider"] == {
        "name": "local", "settings": {"root": "/var/lib/envdelivery"}}
    provider = open_provider(org)
    try:
        assert isinstance(provider, LocalProvider) and provider.root == tmp_path / "store"
    finally:
        provider.close()
