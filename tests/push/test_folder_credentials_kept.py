"""Issue 14 follow-up: `update` reconfigures an existing folder without deleting its credential
store. Posting a folder's config.xml replaces its properties, so the store the credentials live in
would go (JENKINS-44681; jenkinsci/job-dsl-plugin#1232). The emulator keeps a folder's credentials
inside its config.xml, as Jenkins does, so it loses them the same way."""

from __future__ import annotations

import gzip
import logging
import xml.etree.ElementTree as ET

import pytest

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.push.apply import FOLDER_CREDENTIALS_TAG, keep_folder_credentials
from jjb_envdelivery.testing.emulator_faults import Fault
from jjb_envdelivery.testing.emulator_state import serialise

ROOT, TEAM = "delivery", "compute"
ROOT_CREDENTIAL = "jjb-updater-config"  # seeded in the root folder by the push conftest
TEAM_CREDENTIAL = "compute-deploy-key"
# What Jenkins keeps in a credential element: the secret, encrypted. The emulator keeps none,
# so the tests put one in to see that it goes back to Jenkins and nowhere else.
ENCRYPTED = "{AQAAABAAAAAQc2VjcmV0LWJ5dGVzLW5ldmVyLWxvZ2dlZA==}"


@pytest.fixture
def update(conf, org_copy, tmp_path, capsys, caplog):
    """Run `update --scope root` on the example organisation with the named cache directory;
    returns (exit code, everything it printed and logged)."""

    def run(cache: str) -> tuple[int, str]:
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            code = main(["update", "--scope", "root", "--org-file", str(org_copy / "delivery.yaml"),
                         "--conf", str(conf), "--cache-dir", str(tmp_path / cache)])
        out = capsys.readouterr()
        return code, out.out + out.err + caplog.text

    return run


def seed_team_credential_with_secret(emu) -> None:
    """A credential in the team folder's store, its element carrying an encrypted secret."""
    emu.add_credential(TEAM_CREDENTIAL, folder=TEAM)
    with emu.lock:
        folder = emu.state.find(TEAM)
        root = folder.root()
        credential = next(el for el in root.iter() if el.findtext("id") == TEAM_CREDENTIAL)
        ET.SubElement(credential, "secretBytes").text = ENCRYPTED
        folder.config = serialise(root)


def folder_posts(emu) -> list[str]:
    return [r.path for r in emu.request_log if r.method == "POST" and r.path in
            {f"/job/{ROOT}/config.xml", f"/job/{TEAM}/config.xml"}]


def cached_text(tmp_path, cache: str) -> str:
    texts = []
    for path in (tmp_path / cache).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            texts.append((gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", "replace"))
    return "\n".join(texts)


@pytest.mark.slow  # the example organisation's root scope pushed three times
def test_cold_cache_update_reposts_folders_and_keeps_their_credentials(emu, update, tmp_path):
    assert update("first")[0] == 0
    seed_team_credential_with_secret(emu)
    assert emu.credential_ids(ROOT) == [ROOT_CREDENTIAL]
    emu.clear_log()

    code, output = update("cold")  # an empty cache: every owned folder is posted again
    assert code == 0
    assert sorted(folder_posts(emu)) == sorted([f"/job/{ROOT}/config.xml", f"/job/{TEAM}/config.xml"])
    assert emu.credential_ids(ROOT) == [ROOT_CREDENTIAL]
    assert emu.credential_ids(TEAM) == [TEAM_CREDENTIAL]
    # The element went back whole, encrypted secret included...
    assert ENCRYPTED in emu.job_config(TEAM)
    # ...and was neither printed, logged nor cached.
    assert ENCRYPTED not in output and FOLDER_CREDENTIALS_TAG not in output
    assert ENCRYPTED not in cached_text(tmp_path, "cold")
    assert FOLDER_CREDENTIALS_TAG not in cached_text(tmp_path, "cold")

    # The cache holds the generated XML's digest, so the next run finds the folders unchanged.
    emu.clear_log()
    assert update("cold")[0] == 0
    assert not [r for r in emu.request_log if r.write]


def test_changed_folder_gets_its_new_description_and_keeps_its_credential(emu, update, org_copy):
    assert update("cache")[0] == 0
    seed_team_credential_with_secret(emu)
    org_file = org_copy / "delivery.yaml"
    org_file.write_text(org_file.read_text().replace("Virtual machines, hypervisors and images.",
                                                     "Virtual machines and their images."))
    emu.clear_log()

    code, output = update("cache")
    assert code == 0
    assert folder_posts(emu) == [f"/job/{TEAM}/config.xml"]
    config = ET.fromstring(emu.job_config(TEAM).encode())
    assert config.findtext("description").startswith("Virtual machines and their images.")
    assert emu.credential_ids(TEAM) == [TEAM_CREDENTIAL]
    assert ENCRYPTED in emu.job_config(TEAM) and ENCRYPTED not in output


def test_unreadable_folder_config_refuses_that_folder_and_posts_nothing_blind(emu, update):
    assert update("first")[0] == 0
    seed_team_credential_with_secret(emu)
    emu.faults.faults.append(Fault("500", rate=1.0, pattern=f"GET /job/{TEAM}/config.xml"))
    emu.clear_log()

    code, output = update("cold")
    assert code != 0
    assert f"folder {TEAM} not reconfigured: could not read its current config.xml" in output
    assert folder_posts(emu) == [f"/job/{ROOT}/config.xml"]  # the other folder goes on
    assert emu.credential_ids(TEAM) == [TEAM_CREDENTIAL]
    assert ENCRYPTED not in output


FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"


def test_only_the_store_is_taken_from_the_current_config():
    store = (f"<{FOLDER_CREDENTIALS_TAG}><domainCredentialsMap><entry><x><id>a</id></x></entry>"
             f"</domainCredentialsMap></{FOLDER_CREDENTIALS_TAG}>")
    current = (f"<?xml version='1.1' encoding='UTF-8'?><{FOLDER}><description>old</description>"
               f"<properties><other.Property/>{store}</properties></{FOLDER}>")
    desired = f"<{FOLDER}><description>new</description></{FOLDER}>".encode()
    merged = ET.fromstring(keep_folder_credentials(desired, current, "f"))
    assert merged.findtext("description") == "new"
    assert [p.tag for p in merged.find("properties")] == [FOLDER_CREDENTIALS_TAG]
    assert merged.findtext(f"properties/{FOLDER_CREDENTIALS_TAG}/domainCredentialsMap/entry/x/id") == "a"
    # No store on the server: the generated XML goes as it is, byte for byte.
    assert keep_folder_credentials(desired, f"<{FOLDER}><properties/></{FOLDER}>", "f") == desired


def test_plan_shows_a_folder_change_without_its_credential_store(emu, update, conf, org_copy, tmp_path, capsys):
    """`plan` diffs the folder's current config.xml with the generated one: the store (kept by
    update, see above) is left out of the diff, so no encrypted secret is printed and the diff
    does not claim the store would go."""
    assert update("cache")[0] == 0
    seed_team_credential_with_secret(emu)
    org_file = org_copy / "delivery.yaml"
    org_file.write_text(org_file.read_text().replace("Virtual machines, hypervisors and images.",
                                                     "Virtual machines and their images."))
    capsys.readouterr()
    code = main(["plan", "--scope", "root", "--org-file", str(org_file), "--conf", str(conf),
                 "--cache-dir", str(tmp_path / "cache")])
    out = capsys.readouterr()
    assert code == 2, out.err
    assert "Virtual machines and their images." in out.out
    assert ENCRYPTED not in out.out + out.err and "FolderCredentials" not in out.out + out.err

