"""Issue 14: bootstrap creates the root updater only once the updater's credential is where only
the root folder's items can bind it: in the root folder's credential store, and neither in the
system store nor in a team folder's store. Against the emulator's credential stores over HTTP."""

from __future__ import annotations

import pytest

from jjb_envdelivery.cli.demo import demo_plugins
from jjb_envdelivery.cli.main import main
from jjb_envdelivery.testing.emulator_faults import Fault
from jjb_envdelivery.testing.emulator_state import StoredCredential
from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator

CREDENTIAL, ROOT = "jjb-updater-config", "delivery"
USER, TOKEN = "platform-admin", "fedcba9876543210fedcba9876543210"
FOLDER_XML = b"<com.cloudbees.hudson.plugins.folder.Folder><properties/></com.cloudbees.hudson.plugins.folder.Folder>"


def server(**options) -> JenkinsEmulator:
    return JenkinsEmulator(users={USER: "pw"}, tokens={USER: TOKEN}, plugins=demo_plugins(), quiet_period=0.0,
                           **options)


def write_conf(emu, path):
    path.write_text(f"[jenkins]\nurl={emu.url}\nuser={USER}\npassword={TOKEN}\nquery_plugins_info=False\n")
    return path


@pytest.fixture
def bare():
    """A server with no credential anywhere (the push conftest's emulator has the right one)."""
    with server() as emu:
        yield emu


def bootstrap(org_copy, conf, tmp_path, *extra: str) -> int:
    return main(["bootstrap", str(org_copy), "--conf", str(conf), "--cache-dir", str(tmp_path / "cache"), *extra])


def refusal(capsys) -> str:
    """The error line; there is exactly one."""
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == 1, lines
    assert lines[0].startswith("jjb-envdelivery: error: "), lines
    return lines[0]


def test_credential_in_the_root_folder_passes_and_only_ids_are_read(emu, conf, org_copy, tmp_path):
    assert bootstrap(org_copy, conf, tmp_path) == 0
    assert set(emu.jobs()) == {ROOT, f"{ROOT}/root-updater"}
    assert emu.credential_ids(ROOT) == [CREDENTIAL]
    reads = [(r.path, r.query) for r in emu.request_log if "/credentials/" in r.path]
    # the system store, then the root folder's (no team folder exists yet); IDs only
    assert reads == [("/credentials/store/system/api/json", "tree=domains[credentials[id]]"),
                     (f"/job/{ROOT}/credentials/store/folder/api/json", "tree=domains[credentials[id]]")]


def test_fresh_server_without_the_credential_keeps_the_folder_and_creates_no_updater(bare, org_copy, tmp_path,
                                                                                   capsys):
    conf = write_conf(bare, tmp_path / "jenkins_jobs.ini")
    assert bootstrap(org_copy, conf, tmp_path) == 1
    error = refusal(capsys)
    assert (f"credential {CREDENTIAL} (updater.credential-id) is not in the credential store of folder {ROOT}: "
            f"add it there") in error and error.endswith("and run bootstrap again")
    assert bare.jobs() == [ROOT]  # the folder, ready for the credential; no root updater
    bare.add_credential(CREDENTIAL, folder=ROOT)
    assert bootstrap(org_copy, conf, tmp_path) == 0
    assert set(bare.jobs()) == {ROOT, f"{ROOT}/root-updater"}


@pytest.mark.parametrize("scope", ["GLOBAL", "SYSTEM"])
def test_credential_in_the_system_store_is_refused_at_either_scope(emu, conf, org_copy, tmp_path, capsys, scope):
    """GLOBAL scope: every job running as SYSTEM binds it. SYSTEM scope: no job can
    (SystemCredentialsProvider.java:448-456), but the REST API does not export the scope
    (CredentialsStoreAction.java:1038-1125), so bootstrap cannot tell and refuses; the message
    says so and names the way out."""
    emu.add_credential(CREDENTIAL, scope=scope)
    assert bootstrap(org_copy, conf, tmp_path) == 1
    error = refusal(capsys)
    assert f"credential {CREDENTIAL} is in the system store, where at GLOBAL scope every job can bind it" in error
    assert f"move it to the credential store of folder {ROOT} (Manage > Credentials)" in error
    assert "--skip-credential-check" in error
    assert emu.jobs() == [ROOT]
    assert bootstrap(org_copy, conf, tmp_path, "--skip-credential-check") == 0
    assert set(emu.jobs()) == {ROOT, f"{ROOT}/root-updater"}


def test_credential_in_a_non_global_domain_of_the_system_store_is_refused(emu, conf, org_copy, tmp_path, capsys):
    """Domains do not restrict which jobs may bind a credential (credentials docs/user.adoc:325-327)."""
    with emu.lock:
        emu.state.add_credential(None, StoredCredential(CREDENTIAL, domain="github.com"))
    assert bootstrap(org_copy, conf, tmp_path) == 1
    assert "is in the system store" in refusal(capsys)


def test_credential_in_a_team_folder_is_refused(emu, conf, org_copy, tmp_path, rest, capsys):
    assert rest.post(f"{emu.url}createItem?name=compute", data=FOLDER_XML,
                     headers={"Content-Type": "text/xml"}).status_code == 200
    emu.add_credential(CREDENTIAL, folder="compute")
    assert bootstrap(org_copy, conf, tmp_path) == 1
    error = refusal(capsys)
    assert (f"credential {CREDENTIAL} is in the credential store of team folder compute, where that team's jobs "
            f"can bind it: delete it there and keep it only in the credential store of folder {ROOT}") in error
    assert f"{ROOT}/root-updater" not in emu.jobs()


def test_token_without_credentials_view_gets_a_clear_error(org_copy, tmp_path, capsys):
    """Without Credentials/View a store is not found: 404 (ViewCredentialsAction.java:184-192)."""
    with server(roles={USER: "editor"}, credentials=[{"id": CREDENTIAL, "folder": ROOT}]) as emu:
        conf = write_conf(emu, tmp_path / "jenkins_jobs.ini")
        assert bootstrap(org_copy, conf, tmp_path, "--ignore-plugins") == 1
        error = refusal(capsys)
        assert "cannot read the credential IDs of the system credential store" in error
        assert "404" in error and "needs Credentials/View (Overall/Administer includes it" in error
        assert emu.jobs() == [ROOT]


def test_forbidden_store_gets_a_clear_error(org_copy, tmp_path, capsys):
    with server(credentials=[{"id": CREDENTIAL, "folder": ROOT}],
                faults=[Fault("403", 1.0, f"GET /job/{ROOT}/credentials/*")]) as emu:
        conf = write_conf(emu, tmp_path / "jenkins_jobs.ini")
        assert bootstrap(org_copy, conf, tmp_path) == 1
        error = refusal(capsys)
        assert f"cannot read the credential IDs of folder {ROOT}'s credential store" in error
        assert "403" in error and f"needs Credentials/View on folder {ROOT}" in error


def test_bootstrap_never_rewrites_the_root_folder_so_its_store_survives(emu, conf, org_copy, tmp_path, capsys):
    """Posting a folder's config.xml replaces its properties, credential store included
    (JENKINS-44681); a bootstrap with a cold cache would otherwise rewrite the folder."""
    assert bootstrap(org_copy, conf, tmp_path) == 0
    capsys.readouterr()
    emu.clear_log()
    assert main(["bootstrap", str(org_copy), "--conf", str(conf), "--cache-dir", str(tmp_path / "cold")]) == 0
    assert emu.credential_ids(ROOT) == [CREDENTIAL]
    assert not [r for r in emu.request_log if r.write and r.path == f"/job/{ROOT}/config.xml"]
    assert f"kept folder {ROOT}: bootstrap does not rewrite an existing root folder" in capsys.readouterr().out
