"""The emulator's credential stores, as the credentials and folders plugins answer over REST:
IDs, scopes and types, never a secret (emulator_credentials)."""

from __future__ import annotations

import argparse

import pytest
import requests

from jjb_envdelivery.push.client import JenkinsClient
from jjb_envdelivery.testing.emulator_state import StoredCredential
from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator, _credential

TREE = "api/json?tree=domains[credentials[id,typeName]]"


def test_system_store_lists_every_domain_by_url_name(emu, admin):
    emu.add_credential("smtp-login", scope="SYSTEM", type="usernamePassword")
    with emu.lock:
        emu.state.add_credential(None, StoredCredential("gh-token", type="string", domain="github.com"))
    data = admin.get(f"{emu.url}credentials/store/system/{TREE}").json()
    assert data["_class"] == "com.cloudbees.plugins.credentials.SystemCredentialsProvider$UserFacingAction"
    # a map, each value pruned by the property's own tree (stapler Property.java:269-285)
    assert {name: [c["id"] for c in d["credentials"]] for name, d in data["domains"].items()} == {
        "_": ["smtp-login"], "github.com": ["gh-token"]}
    assert data["domains"]["_"]["credentials"][0]["typeName"] == "Username with password"
    one = admin.get(f"{emu.url}credentials/store/system/domain/github.com/credential/gh-token/api/json").json()
    assert one["id"] == "gh-token" and one["typeName"] == "Secret text" and "scope" not in one
    assert admin.get(f"{emu.url}credentials/store/system/domain/nope/api/json").status_code == 404
    assert admin.get(f"{emu.url}credentials/store/folder/api/json").status_code == 404


def test_folder_store_lives_in_the_folder_config_and_a_config_post_without_it_empties_it(emu, admin, h):
    assert h.post_xml(admin, f"{emu.url}createItem?name=team", h.FOLDER_XML).status_code == 200
    emu.add_credential("team-token", folder="team", type="string")
    url = f"{emu.url}job/team/credentials/store/folder/{TREE}"
    assert [c["id"] for c in admin.get(url).json()["domains"]["_"]["credentials"]] == ["team-token"]
    assert "FolderCredentialsProvider_-FolderCredentialsProperty" in emu.job_config("team")
    # A folder rewritten from XML without the property loses the credentials (JENKINS-44681).
    assert h.post_xml(admin, f"{emu.url}job/team/config.xml", h.FOLDER_XML).status_code == 200
    assert admin.get(url).json()["domains"] == {"_": {
        "_class": "com.cloudbees.plugins.credentials.CredentialsStoreAction$DomainWrapper", "credentials": []}}
    # A job has no store; a missing folder neither.
    assert admin.get(f"{emu.url}job/nope/credentials/store/folder/api/json").status_code == 404


def test_credential_seeded_for_a_missing_folder_joins_its_store_on_creation(h):
    with JenkinsEmulator(csrf=False, credentials=[{"id": "upd", "folder": "delivery"}]) as emu:
        with pytest.raises(KeyError):
            emu.credential_ids("delivery")
        assert requests.post(f"{emu.url}createItem?name=delivery", data=h.FOLDER_XML,
                             headers={"Content-Type": "text/xml"}).status_code == 200
        assert emu.credential_ids("delivery") == ["upd"]
        assert JenkinsClient(emu.url, None, None).credential_ids("delivery") == {"upd"}


def test_a_user_without_credentials_view_finds_no_store(emu, h):
    emu.add_credential("x")
    url = f"{emu.url}credentials/store/system/api/json"
    assert requests.get(url, auth=(h.DEV, h.DEV_TOKEN)).status_code == 404  # an editor
    assert requests.get(url, auth=(h.ADMIN, h.ADMIN_TOKEN)).status_code == 200


def test_seeding_checks_scope_and_type():
    with pytest.raises(ValueError, match="GLOBAL scope only"):
        JenkinsEmulator(credentials=[{"id": "x", "folder": "f", "scope": "SYSTEM"}])
    with pytest.raises(ValueError, match="type 'secret'"):
        JenkinsEmulator(credentials=[{"id": "x", "type": "secret"}])
    with pytest.raises(ValueError, match="unknown keys"):
        JenkinsEmulator(credentials=[{"id": "x", "password": "s3cret"}])


def test_command_line_credential_form():
    assert _credential("upd@delivery") == {"id": "upd", "scope": "GLOBAL", "folder": "delivery"}
    assert _credential("smtp:SYSTEM") == {"id": "smtp", "scope": "SYSTEM"}
    with pytest.raises(argparse.ArgumentTypeError):
        _credential("upd@delivery:SYSTEM")
