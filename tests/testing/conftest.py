"""Fixtures for the Jenkins REST emulator tests: every server binds 127.0.0.1 and is stopped."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import jenkins
import pytest
import requests

from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator

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
