"""Fixtures for the Jenkins REST emulator tests: every server binds 127.0.0.1 and is stopped."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import jenkins
import pytest
import requests

from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator
from tests.conftest import _require_commands

ADMIN, ADMIN_PW, ADMIN_TOKEN = "admin", "admin-pw", "11aa22bb33cc44dd55ee66ff77889900aa"
DEV, DEV_PW, DEV_TOKEN = "dev", "dev-pw", "11dev0000000000000000000000000000"
VIEWER, VIEWER_PW = "viewer", "viewer-pw"
XML = {"Content-Type": "text/xml; charset=utf-8"}
JJB_MARK = "<!-- Managed by Jenkins Job Builder -->"


def project_xml(description: str | None = None, disabled: bool = False) -> str:
    desc = "" if description is None else f"<description>{_esc(description)}</description>"
    return (f"<?xml version='1.0' encoding='UTF-8'?><project><actions/>{desc}"
            f"<keepDependencies>false</keepDependencies><properties/>"
            f"<disabled>{str(disabled).lower()}</disabled><builders/></project>")


FOLDER_XML = ("<com.cloudbees.hudson.plugins.folder.Folder><actions/><description/>"
              "<properties/></com.cloudbees.hudson.plugins.folder.Folder>")
LIST_VIEW_XML = ("<hudson.model.ListView><name>ignored</name><description>d</description>"
                 "<jobNames><string>top</string></jobNames></hudson.model.ListView>")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.fixture
def emu() -> Iterator[JenkinsEmulator]:
    with JenkinsEmulator(
        users={ADMIN: ADMIN_PW, DEV: DEV_PW, VIEWER: VIEWER_PW},
        tokens={ADMIN: ADMIN_TOKEN, DEV: DEV_TOKEN},
        roles={DEV: "editor", VIEWER: "reader"},
        quiet_period=0.0,
    ) as server:
        yield server


@pytest.fixture
def admin(emu: JenkinsEmulator) -> requests.Session:
    """API-token session: exempt from crumbs."""
    s = requests.Session()
    s.auth = (ADMIN, ADMIN_TOKEN)
    yield s
    s.close()


@pytest.fixture
def pj(emu: JenkinsEmulator) -> jenkins.Jenkins:
    """python-jenkins with a password, so crumbs and the session cookie are exercised."""
    return jenkins.Jenkins(emu.url, ADMIN, ADMIN_PW, timeout=10)


def post_xml(session: requests.Session, url: str, xml: str, **kw) -> requests.Response:
    return session.post(url, data=xml.encode("utf-8"), headers={**XML, **kw.pop("headers", {})},
                        allow_redirects=False, **kw)


def crumbed_session(emu: JenkinsEmulator, user: str, password: str) -> requests.Session:
    s = requests.Session()
    s.auth = (user, password)
    r = s.get(emu.url + "crumbIssuer/api/json")
    r.raise_for_status()
    s.headers["Jenkins-Crumb"] = r.json()["crumb"]
    return s


@pytest.fixture
def seeded(emu: JenkinsEmulator, admin: requests.Session) -> JenkinsEmulator:
    """`Alpha`, `top` (JJB-managed description), folder `f` with `inner`, view `v1`."""
    for path, name, xml in (("", "Alpha", project_xml()),
                            ("", "top", project_xml("top job" + JJB_MARK)),
                            ("", "f", FOLDER_XML),
                            ("job/f/", "inner", project_xml("inner"))):
        assert post_xml(admin, f"{emu.url}{path}createItem?name={name}", xml).status_code == 200
    assert post_xml(admin, emu.url + "createView?name=v1", LIST_VIEW_XML).status_code == 200
    emu.clear_log()
    return emu


@pytest.fixture(scope="session")
def h() -> SimpleNamespace:
    """Shared constants and helpers (test modules cannot import conftest under importlib)."""
    return SimpleNamespace(
        ADMIN=ADMIN, ADMIN_PW=ADMIN_PW, ADMIN_TOKEN=ADMIN_TOKEN, DEV=DEV, DEV_PW=DEV_PW,
        DEV_TOKEN=DEV_TOKEN, VIEWER=VIEWER, VIEWER_PW=VIEWER_PW, XML=XML, JJB_MARK=JJB_MARK,
        FOLDER_XML=FOLDER_XML, LIST_VIEW_XML=LIST_VIEW_XML, project_xml=project_xml,
        post_xml=post_xml, crumbed_session=crumbed_session,
    )


# --- the job runner's tests (tests/testing/test_job_runner_*.py) ------------------------------


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def freestyle(*, builders: str = "", publishers: str = "", wrappers: str = "", triggers: str = "",
              properties: str = "", scm: str = '<scm class="hudson.scm.NullSCM"/>',
              node: str | None = None, disabled: bool = False) -> str:
    """A freestyle config.xml shaped like JJB's (general.py): canRoam true unless a node is
    given, then canRoam false with assignedNode."""
    where = (f"<assignedNode>{_xml_escape(node)}</assignedNode><canRoam>false</canRoam>"
             if node is not None else "<canRoam>true</canRoam>")
    return (f"<project><actions/><description/><keepDependencies>false</keepDependencies>"
            f"<disabled>{str(disabled).lower()}</disabled>"
            f"<concurrentBuild>false</concurrentBuild>{where}<properties>{properties}</properties>"
            f"{scm}<triggers class=\"vector\">{triggers}</triggers><builders>{builders}</builders>"
            f"<publishers>{publishers}</publishers><buildWrappers>{wrappers}</buildWrappers>"
            f"</project>")


def shell(command: str, unstable_return: int | None = None) -> str:
    extra = f"<unstableReturn>{unstable_return}</unstableReturn>" if unstable_return else ""
    return f"<hudson.tasks.Shell><command>{_xml_escape(command)}</command>{extra}</hudson.tasks.Shell>"


def archive(artifacts: str, **fields: str) -> str:
    body = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return (f"<hudson.tasks.ArtifactArchiver><artifacts>{artifacts}</artifacts>{body}"
            f"</hudson.tasks.ArtifactArchiver>")


def copy_grant(*names: str) -> str:
    entries = "".join(f"<string>{n}</string>" for n in names)
    return (f'<hudson.plugins.copyartifact.CopyArtifactPermissionProperty plugin="copyartifact">'
            f"<projectNameList>{entries}</projectNameList>"
            f"</hudson.plugins.copyartifact.CopyArtifactPermissionProperty>")


def copy_artifact(project: str, selector: str = "", **fields: str) -> str:
    """JJB's copyartifact shape (jjb6.5.0 builders.py), ``selector`` the inner XML."""
    values = {"filter": "", "target": "", "flatten": "false", "optional": "false",
              "doNotFingerprintArtifacts": "false", "parameters": "", **fields}
    body = "".join(f"<{k}>{v}</{k}>" if v else f"<{k}/>" for k, v in values.items())
    return (f"<hudson.plugins.copyartifact.CopyArtifact><project>{project}</project>{body}"
            f"{selector}</hudson.plugins.copyartifact.CopyArtifact>")


def reverse_trigger(upstream: str, name: str = "SUCCESS", ordinal: int | None = 0) -> str:
    ordinal_el = "" if ordinal is None else f"<ordinal>{ordinal}</ordinal>"
    return (f"<jenkins.triggers.ReverseBuildTrigger><spec/><upstreamProjects>{upstream}"
            f"</upstreamProjects><threshold><name>{name}</name>{ordinal_el}<color>BLUE</color>"
            f"<completeBuild>true</completeBuild></threshold></jenkins.triggers.ReverseBuildTrigger>")


def git_scm(url: str, branch: str = "main", credentials_id: str | None = None,
            extensions: str = "") -> str:
    cred = f"<credentialsId>{credentials_id}</credentialsId>" if credentials_id is not None else ""
    return (f'<scm class="hudson.plugins.git.GitSCM"><configVersion>2</configVersion>'
            f"<userRemoteConfigs><hudson.plugins.git.UserRemoteConfig><name>origin</name>"
            f"<refspec>+refs/heads/*:refs/remotes/origin/*</refspec><url>{url}</url>{cred}"
            f"</hudson.plugins.git.UserRemoteConfig></userRemoteConfigs><branches>"
            f"<hudson.plugins.git.BranchSpec><name>{branch}</name></hudson.plugins.git.BranchSpec>"
            f"</branches><doGenerateSubmoduleConfigurations>false</doGenerateSubmoduleConfigurations>"
            f"<gitTool>Default</gitTool><submoduleCfg class=\"list\"/><extensions>{extensions}"
            f"</extensions></scm>")


def put_job(emu: JenkinsEmulator, full_name: str, config: str) -> None:
    """Store a job (and the folders above it) directly in the emulator's state."""
    with emu.lock:
        group = emu.state.root
        parts = full_name.split("/")
        for folder in parts[:-1]:
            found = group.get_item(folder)
            if found is None:
                found = emu.state.create_item(group, folder, FOLDER_XML.encode())
            group = found
        existing = group.get_item(parts[-1])
        if existing is not None:
            emu.state.update_item(existing, config.encode())
        else:
            emu.state.create_item(group, parts[-1], config.encode())


class GitRepo:
    """A local git repository standing in for a remote."""

    def __init__(self, path) -> None:
        import subprocess

        _require_commands("git")
        self.path = path
        self._run = subprocess.run
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        return self._run(["git", "-C", str(self.path), "-c", "user.name=Dev",
                          "-c", "user.email=dev@example.com", *args],
                         check=True, capture_output=True, text=True).stdout.strip()

    def commit(self, files: dict[str, str], message: str = "change", branch: str = "main") -> str:
        current = self.git("symbolic-ref", "--short", "HEAD")
        if current != branch:
            self.git("checkout", "-q", "-B", branch)
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture(scope="session")
def jr() -> SimpleNamespace:
    """Builders of job XML and local repositories for the job runner's tests."""
    return SimpleNamespace(freestyle=freestyle, shell=shell, archive=archive,
                           copy_grant=copy_grant, copy_artifact=copy_artifact,
                           reverse_trigger=reverse_trigger, git_scm=git_scm, put_job=put_job,
                           GitRepo=GitRepo, esc=_xml_escape)


@pytest.fixture
def bare_emu() -> Iterator[JenkinsEmulator]:
    """An emulator without security for the runner's tests (they reach it through its state)."""
    with JenkinsEmulator(quiet_period=0.0, csrf=False) as server:
        yield server
