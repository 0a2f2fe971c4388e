"""Fidelity over raw HTTP: reference §4 cases (numbered) and the §3 emulator table."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from html import unescape

import pytest
import requests

from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator


def host(emu: JenkinsEmulator) -> str:
    return emu.url.rstrip("/")


# --- 1. crumbs ---------------------------------------------------------------------------------


def test_1_crumb_is_bound_to_the_session(emu: JenkinsEmulator, h) -> None:
    s = requests.Session()
    s.auth = (h.ADMIN, h.ADMIN_PW)
    r = s.get(emu.url + "crumbIssuer/api/json")
    assert r.status_code == 200
    data = r.json()
    assert list(data) == ["_class", "crumb", "crumbRequestField"]
    assert data["_class"] == "hudson.security.csrf.DefaultCrumbIssuer"
    assert data["crumbRequestField"] == "Jenkins-Crumb"
    assert re.fullmatch(r"[0-9a-f]{64}", data["crumb"])
    assert r.headers["Set-Cookie"].startswith("JSESSIONID.")
    crumb = {"Jenkins-Crumb": data["crumb"]}

    no_cookie = requests.post(emu.url + "createItem?name=x", data=h.project_xml(),
                              headers={**h.XML, **crumb}, auth=(h.ADMIN, h.ADMIN_PW))
    assert no_cookie.status_code == 403
    assert "No valid crumb was included in the request" in unescape(no_cookie.text)
    assert "x" not in emu.jobs()

    assert h.post_xml(s, emu.url + "createItem?name=x", h.project_xml(), headers=crumb
                    ).status_code == 200
    # a second GET in the same session reuses it: same crumb, no new cookie
    again = s.get(emu.url + "crumbIssuer/api/json")
    assert again.json()["crumb"] == data["crumb"] and "Set-Cookie" not in again.headers

    token = requests.post(emu.url + "createItem?name=y", data=h.project_xml(), headers=h.XML,
                          auth=(h.ADMIN, h.ADMIN_TOKEN))
    assert token.status_code == 200
    assert emu.jobs() == ["x", "y"]


def test_1_crumb_of_another_user_is_rejected(emu: JenkinsEmulator, h) -> None:
    s = h.crumbed_session(emu, h.ADMIN, h.ADMIN_PW)
    s.auth = (h.DEV, h.DEV_PW)  # same session cookie, other user
    assert h.post_xml(s, emu.url + "createItem?name=x", h.project_xml()).status_code == 403


def test_1_password_post_without_crumb_is_rejected_and_stray_crumbs_ignored_when_off(h) -> None:
    with JenkinsEmulator(users={h.ADMIN: h.ADMIN_PW}, csrf=False) as emu:
        assert requests.get(emu.url + "crumbIssuer/api/json",
                            auth=(h.ADMIN, h.ADMIN_PW)).status_code == 404
        r = requests.post(emu.url + "createItem?name=x", data=h.project_xml(),
                          headers={**h.XML, "Jenkins-Crumb": "stray"}, auth=(h.ADMIN, h.ADMIN_PW))
        assert r.status_code == 200


# --- 2. credentials ----------------------------------------------------------------------------


@pytest.mark.parametrize("auth", [("admin", "wrong"), ("nobody", "x"), ("admin", "")])
def test_2_bad_credentials_give_401_on_every_url(emu: JenkinsEmulator, auth, h) -> None:
    for path in ("crumbIssuer/api/json", "job/missing/config.xml", ""):
        r = requests.get(emu.url + path, auth=auth)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == 'Basic realm="Jenkins"'


def test_2_malformed_basic_header_is_401(emu: JenkinsEmulator, h) -> None:
    r = requests.get(emu.url + "api/json", headers={"Authorization": "Basic !!!notbase64"})
    assert r.status_code == 401


def test_2_anonymous_without_read_is_403_forbidden(emu: JenkinsEmulator, h) -> None:
    r = requests.get(emu.url + "crumbIssuer/api/json")
    assert r.status_code == 403 and r.reason == "Forbidden"
    assert r.headers["X-You-Are-Authenticated-As"] == "anonymous"
    assert r.headers["X-Required-Permission"] == "hudson.model.Hudson.Read"


def test_2_anonymous_read_allows_get_but_not_create(h) -> None:
    with JenkinsEmulator(users={h.ADMIN: h.ADMIN_PW}, anonymous_read=True) as emu:
        assert requests.get(emu.url + "api/json").status_code == 200
        s = requests.Session()
        s.headers["Jenkins-Crumb"] = s.get(emu.url + "crumbIssuer/api/json").json()["crumb"]
        r = h.post_xml(s, emu.url + "createItem?name=x", h.project_xml())
        assert r.status_code == 403 and r.headers["X-Required-Permission"].endswith("Create")


def test_read_only_user_gets_403_on_writes_and_config(seeded, emu: JenkinsEmulator, h) -> None:
    s = h.crumbed_session(emu, h.VIEWER, h.VIEWER_PW)
    assert s.get(emu.url + "job/top/api/json").status_code == 200
    denied = s.get(emu.url + "job/top/config.xml")
    assert denied.status_code == 403 and denied.reason == "Forbidden"
    assert "viewer is missing the Job/ExtendedRead permission" in unescape(denied.text)
    assert h.post_xml(s, emu.url + "createItem?name=z", h.project_xml()).status_code == 403
    assert s.post(emu.url + "job/top/doDelete", allow_redirects=False).status_code == 403
    assert "top" in emu.jobs() and "z" not in emu.jobs()


# --- 3, 4. case-insensitive items ------------------------------------------------------------


def test_3_lookup_is_case_insensitive_and_echoes_the_stored_name(seeded, admin, h) -> None:
    r = admin.get(seeded.url + "job/TOP/api/json?tree=name")
    assert r.status_code == 200
    assert r.text == '{"_class":"hudson.model.FreeStyleProject","name":"top"}'
    assert r.headers["Content-Type"] == "application/json;charset=utf-8"


def test_4_duplicate_in_other_case_is_400(seeded, admin, h) -> None:
    r = h.post_xml(admin, seeded.url + "createItem?name=TOP", h.project_xml())
    assert r.status_code == 400
    # Jetty writes header values as Latin-1 and turns other characters into spaces;
    # the page body carries the message as Jenkins formats it.
    assert r.headers["X-Error"] == "A job already exists with the name  TOP "
    assert "A job already exists with the name ‘TOP’" in unescape(r.text)
    assert seeded.jobs() == ["Alpha", "f", "f/inner", "top"]


# --- 5. names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "message"), [
    ("name=a%26b", "‘&’ is an unsafe character"),
    ("name=x.", "A name cannot end with ‘.’"),
    ("name=..", "“..” is not an allowed name"),
    ("name=.", "“.” is not an allowed name"),
    ("name=", "No name is specified"),
    ("", "Query parameter 'name' is required"),
    ("name=a%3Fb", "‘?’ is an unsafe character"),
    ("name=a%01b", "No control code is allowed: a\\u1;b"),
])
def test_5_bad_names_are_400_with_the_message(emu, admin, query, message, h) -> None:
    r = h.post_xml(admin, f"{emu.url}createItem?{query}", h.project_xml())
    assert r.status_code == 400 and r.reason == "Bad Request"
    assert message in unescape(r.text)
    # http.client drops the leading space that Jetty's substitution leaves
    assert r.headers["X-Error"] == "".join(c if ord(c) < 256 else " " for c in message).lstrip()
    assert emu.jobs() == []


def test_5_space_and_allowed_punctuation_are_fine_and_names_are_trimmed(emu, admin, h) -> None:
    assert h.post_xml(admin, emu.url + "createItem?name=a%20b", h.project_xml()).status_code == 200
    assert h.post_xml(admin, emu.url + "createItem?name=%20c(1)%20", h.project_xml()
                    ).status_code == 200
    assert emu.jobs() == ["a b", "c(1)"]
    r = admin.get(emu.url + "job/a%20b/api/json?tree=name,url")
    assert r.json()["url"] == emu.url + "job/a%20b/"


def test_2_checks_run_in_jenkins_order(seeded, admin, h) -> None:
    # no Content-Type beats a missing name; a missing name beats a bad one; bad beats exists
    r = admin.post(seeded.url + "createItem", data=b"<project/>")
    assert r.status_code == 400 and r.headers["X-Error"] == "No Content-Type header set"
    r = admin.post(seeded.url + "createItem?name=top", data=b"x=1",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert "A job already exists" in r.headers["X-Error"]  # exists beats a missing mode
    r = admin.post(seeded.url + "createItem?name=new", data=b"x=1",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.headers["X-Error"] == "No mode given"
    r = admin.post(seeded.url + "createItem?name=new&mode=no.such.Type",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and "No item type ‘no.such.Type’ is known" in unescape(r.text)
    assert admin.get(seeded.url + "createItem?name=x").status_code == 405


# --- 6. folders ----------------------------------------------------------------------------------


def test_6_missing_folder_or_job_parent_is_404(seeded, admin, h) -> None:
    assert h.post_xml(admin, seeded.url + "job/nofolder/createItem?name=x", h.project_xml()
                    ).status_code == 404
    assert h.post_xml(admin, seeded.url + "job/top/createItem?name=x", h.project_xml()
                    ).status_code == 404
    assert h.post_xml(admin, seeded.url + "job/top/createView?name=x", h.LIST_VIEW_XML
                    ).status_code == 404
    assert admin.get(seeded.url + "job/top/job/x/api/json").status_code == 404


def test_folder_items_and_case_insensitive_paths(seeded, admin, h) -> None:
    assert h.post_xml(admin, seeded.url + "job/F/createItem?name=second", h.project_xml()
                    ).status_code == 200
    assert seeded.jobs() == ["Alpha", "f", "f/inner", "f/second", "top"]
    r = admin.get(seeded.url + "job/F/job/INNER/api/json?tree=fullName,name")
    assert r.json() == {"_class": "hudson.model.FreeStyleProject", "fullName": "f/inner",
                        "name": "inner"}


# --- 7. h.XML ------------------------------------------------------------------------------------


def test_7_bad_xml_is_atomic(seeded, admin, h) -> None:
    r = h.post_xml(admin, seeded.url + "createItem?name=broken", "<project><description>")
    assert r.status_code == 500 and r.reason == "Server Error"
    assert "Logging ID=" in unescape(r.text)
    assert admin.get(seeded.url + "job/broken/api/json").status_code == 404
    r = h.post_xml(admin, seeded.url + "createItem?name=alien", "<no-such-type/>")
    assert r.status_code == 500 and "alien" not in seeded.jobs()

    before = admin.get(seeded.url + "job/top/config.xml").text
    assert h.post_xml(admin, seeded.url + "job/top/config.xml", "<project>").status_code == 500
    assert h.post_xml(admin, seeded.url + "job/top/config.xml", h.FOLDER_XML).status_code == 500
    assert admin.get(seeded.url + "job/top/config.xml").text == before


def test_config_xml_is_reserialised(admin, h) -> None:
    """From Jenkins 2.568 (SECURITY-3744) GET config.xml re-serialises the item; before, it serves
    the stored file (test_fidelity_config_file.py)."""
    posted = ("<?xml version='1.0' encoding='UTF-8'?>\n<project>\n<!-- a comment -->"
              "<description>it's &lt;b&gt; \"x\"</description>\n\n   <builders></builders>"
              "<a  attr='v'/></project>")
    with JenkinsEmulator(tokens={h.ADMIN: h.ADMIN_TOKEN}, version="2.568.1") as seeded:
        assert h.post_xml(admin, seeded.url + "createItem?name=top", h.project_xml()).status_code == 200
        _check_reserialised(seeded, admin, h, posted)


def _check_reserialised(seeded, admin, h, posted) -> None:
    assert h.post_xml(admin, seeded.url + "job/top/config.xml", posted).status_code == 200
    r = admin.get(seeded.url + "job/top/config.xml")
    assert r.headers["Content-Type"] == "application/xml"
    assert r.text == ('<?xml version="1.1" encoding="UTF-8"?>\n<project>\n'
                      "  <description>it&apos;s &lt;b&gt; &quot;x&quot;</description>\n"
                      '  <builders/>\n  <a attr="v"/>\n</project>')
    assert ET.fromstring(r.content).findtext("description") == "it's <b> \"x\""
    # description in api/json comes from the stored config, raw
    info = admin.get(seeded.url + "job/top/api/json?tree=description").json()
    assert info["description"] == "it's <b> \"x\""


def test_config_xml_other_methods_are_400(seeded, admin, h) -> None:
    assert admin.put(seeded.url + "job/top/config.xml", data=b"<project/>").status_code == 400


# --- 8. missing targets --------------------------------------------------------------------------


def test_8_missing_targets_are_404(emu, admin, h) -> None:
    assert h.post_xml(admin, emu.url + "job/missing/config.xml", h.project_xml()).status_code == 404
    assert admin.get(emu.url + "job/missing/api/json?depth=0").status_code == 404
    assert admin.get(emu.url + "job/missing/config.xml").status_code == 404
    assert admin.post(emu.url + "job/missing/doDelete").status_code == 404
    assert admin.get(emu.url + "no/such/page").status_code == 404


# --- 9. delete -----------------------------------------------------------------------------------


def test_9_do_delete_redirects_to_the_parent(seeded, admin, h) -> None:
    r = admin.post(seeded.url + "job/f/job/inner/doDelete", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == seeded.url + "job/f/"
    assert r.content == b""
    assert admin.get(r.headers["Location"]).status_code == 200
    assert admin.get(seeded.url + "job/f/job/inner/api/json").status_code == 404

    assert h.post_xml(admin, seeded.url + "job/f/createItem?name=again", h.project_xml()
                    ).status_code == 200
    r = admin.post(seeded.url + "job/f/doDelete", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == seeded.url
    assert seeded.jobs() == ["Alpha", "top"]
    assert admin.get(seeded.url + "job/top/doDelete").status_code == 405
    assert admin.get(seeded.url + "job/top/doDelete").headers["Allow"] == "POST"


def test_9_location_uses_the_request_host(seeded, admin, h) -> None:
    r = admin.post(seeded.url + "job/top/doDelete", allow_redirects=False,
                   headers={"Host": "jenkins.example:8443"})
    assert r.headers["Location"] == "http://jenkins.example:8443/"


# --- 10, 11. api/json --------------------------------------------------------------------------


def test_10_tree_pruning_matches_the_reference_example(emu, admin, h) -> None:
    for path, name, xml in (("", "Alpha", h.project_xml()), ("", "f", h.FOLDER_XML),
                            ("job/f/", "g", h.FOLDER_XML), ("job/f/job/g/", "deep", h.project_xml()),
                            ("", "top", h.project_xml())):
        assert h.post_xml(admin, f"{emu.url}{path}createItem?name={name}", xml).status_code == 200
    r = admin.get(emu.url + "api/json?tree=jobs[url,color,name,jobs[url,color,name,jobs]]")
    h = "http://h"
    expected = (
        '{"_class":"hudson.model.Hudson","jobs":['
        '{"_class":"hudson.model.FreeStyleProject","name":"Alpha","url":"http://h/job/Alpha/",'
        '"color":"notbuilt"},'
        '{"_class":"com.cloudbees.hudson.plugins.folder.Folder","name":"f",'
        '"url":"http://h/job/f/","jobs":['
        '{"_class":"com.cloudbees.hudson.plugins.folder.Folder","name":"g",'
        '"url":"http://h/job/f/job/g/","jobs":[{"_class":"hudson.model.FreeStyleProject"}]}]},'
        '{"_class":"hudson.model.FreeStyleProject","name":"top","url":"http://h/job/top/",'
        '"color":"notbuilt"}]}')
    assert r.text.replace(host(emu), h) == expected


def test_11_depth_zero_matches_the_reference(seeded, admin, h) -> None:
    root = admin.get(seeded.url + "api/json").json()
    assert list(root) == ["_class", "assignedLabels", "mode", "nodeDescription", "nodeName",
                          "numExecutors", "description", "jobs", "overallLoad", "primaryView",
                          "quietDownReason", "quietingDown", "slaveAgentPort", "unlabeledLoad",
                          "url", "useCrumbs", "useSecurity", "views"]
    assert root["_class"] == "hudson.model.Hudson" and root["description"] is None
    assert [list(j) for j in root["jobs"]] == [["_class", "name", "url", "color"],
                                                ["_class", "name", "url"],
                                                ["_class", "name", "url", "color"]]
    assert root["views"] == [
        {"_class": "hudson.model.AllView", "name": "all", "url": seeded.url},
        {"_class": "hudson.model.ListView", "name": "v1", "url": seeded.url + "view/v1/"}]

    job = admin.get(seeded.url + "job/top/api/json?depth=0").json()
    assert list(job)[:10] == ["_class", "actions", "description", "displayName",
                              "displayNameOrNull", "fullDisplayName", "fullName", "name", "url",
                              "buildable"]
    assert list(job)[-6:] == ["concurrentBuild", "disabled", "downstreamProjects",
                              "labelExpression", "scm", "upstreamProjects"]
    assert job["description"] == "top job" + h.JJB_MARK
    assert job["disabled"] is False and job["color"] == "notbuilt"
    assert "allBuilds" not in job

    folder = admin.get(seeded.url + "job/f/api/json?depth=0").json()
    assert list(folder) == ["_class", "actions", "description", "displayName",
                            "displayNameOrNull", "fullDisplayName", "fullName", "name", "url",
                            "healthReport", "jobs", "primaryView", "views"]
    assert folder["description"] == "" and "disabled" not in folder
    assert folder["primaryView"] == {"_class": "hudson.model.AllView", "name": "All",
                                     "url": seeded.url + "job/f/"}
    assert folder["jobs"] == [{"_class": "hudson.model.FreeStyleProject", "name": "inner",
                               "url": seeded.url + "job/f/job/inner/", "color": "notbuilt"}]


def test_11_description_null_empty_and_text(emu, admin, h) -> None:
    for name, xml in (("none", h.project_xml()), ("empty", h.project_xml("")),
                      ("text", h.project_xml("a & b"))):
        assert h.post_xml(admin, f"{emu.url}createItem?name={name}", xml).status_code == 200
    got = [admin.get(f"{emu.url}job/{n}/api/json").json()["description"]
           for n in ("none", "empty", "text")]
    assert got == [None, "", "a & b"]


def test_tree_selects_but_does_not_order_and_depth_and_errors(seeded, admin, h) -> None:
    r = admin.get(seeded.url + "job/top/api/json?tree=url,name,disabled,nosuch")
    assert list(r.json()) == ["_class", "name", "url", "disabled"]
    deep = admin.get(seeded.url + "api/json?depth=1").json()
    assert "description" in deep["jobs"][0]
    assert admin.get(seeded.url + "api/json?tree=jobs[name").status_code == 500
    assert admin.get(seeded.url + "api/json?depth=x").status_code == 500
    r = admin.get(seeded.url + "api/json?tree=jobs[name]{1,2}")
    assert r.json()["jobs"] == [{"_class": "com.cloudbees.hudson.plugins.folder.Folder",
                                 "name": "f"}]


# --- 12. views -----------------------------------------------------------------------------------


def test_12_views(seeded, admin, h) -> None:
    r = admin.get(seeded.url + "view/All/api/json?tree=name")
    assert r.text == '{"_class":"hudson.model.AllView","name":"all"}'
    assert admin.get(seeded.url + "view/ALL/api/json?tree=name").status_code == 404
    assert admin.get(seeded.url + "view/V1/api/json").status_code == 404
    r = h.post_xml(admin, seeded.url + "createView?name=v1", h.LIST_VIEW_XML)
    assert r.status_code == 400 and 'A view already exists with the name "v1"' in unescape(r.text)
    assert admin.get(seeded.url + "createView?name=v").status_code == 404
    assert h.post_xml(admin, seeded.url + "createView?name=V1", h.LIST_VIEW_XML).status_code == 200
    assert seeded.views() == ["V1", "all", "v1"]
    assert admin.post(seeded.url + "createView?name=x").status_code == 400
    r = admin.post(seeded.url + "createView?name=x", data=b"a=b",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert "No view type is specified" in unescape(r.text)
    assert h.post_xml(admin, seeded.url + "createView?name=bad", "<hudson.model.ListView>"
                    ).status_code == 500
    assert h.post_xml(admin, seeded.url + "createView?name=a%26b", h.LIST_VIEW_XML
                    ).status_code == 400

    view = admin.get(seeded.url + "view/v1/api/json").json()
    assert list(view) == ["_class", "description", "jobs", "name", "property", "url"]
    assert [j["name"] for j in view["jobs"]] == ["top"] and view["description"] == "d"
    cfg = admin.get(seeded.url + "view/v1/config.xml")
    assert cfg.status_code == 200 and "<name>v1</name>" in cfg.text  # query name wins
    assert h.post_xml(admin, seeded.url + "view/v1/config.xml", h.FOLDER_XML).status_code == 500
    assert h.post_xml(admin, seeded.url + "view/v1/config.xml",
                    h.LIST_VIEW_XML.replace(">d<", ">new<")).status_code == 200
    assert admin.get(seeded.url + "view/v1/api/json?tree=description").json()[
        "description"] == "new"

    r = admin.post(seeded.url + "view/v1/doDelete", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == seeded.url
    assert admin.post(seeded.url + "view/V1/doDelete").status_code == 200  # follows to /
    assert admin.post(seeded.url + "view/all/doDelete").status_code == 500  # the last view
    assert seeded.views() == ["all"]


def test_12_folder_views(seeded, admin, h) -> None:
    assert admin.get(seeded.url + "job/f/view/All/api/json?tree=name").json()["name"] == "All"
    assert h.post_xml(admin, seeded.url + "job/f/createView?name=fv", h.LIST_VIEW_XML
                    ).status_code == 200
    assert seeded.views("f") == ["All", "fv"]
    r = admin.post(seeded.url + "job/f/view/fv/doDelete", allow_redirects=False)
    assert r.headers["Location"] == seeded.url + "job/f/"


# --- 13, 14. build, queue, disable ------------------------------------------------------------


LEFT, WAITING = "hudson.model.Queue$LeftItem", "hudson.model.Queue$WaitingItem"


def _wait_until_left(s: requests.Session, url: str, timeout: float = 30.0) -> dict:
    """GET the queue item at `url` until it has left the queue; its JSON then.

    The emulator moves due items out of the queue when it answers a request, so each GET both
    advances and observes the queue. The deadline is generous for a loaded machine; a healthy run
    returns as soon as the quiet period has passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        q = s.get(url).json()
        if q["_class"] != WAITING:
            return q
        if time.monotonic() > deadline:
            raise AssertionError(f"queue item still waiting after {timeout} s: {q['why']}")
        time.sleep(0.02)  # the poll interval, not a guess at how long the quiet period takes


def test_13_build_and_queue(h) -> None:
    # Nothing here races the clock. The first build, under the emulator's 0.3 s quiet period, is
    # polled until it has left the queue; the waiting-item and merge checks use a second build
    # delayed by an hour, which no slow machine can outlast.
    with JenkinsEmulator(tokens={h.ADMIN: h.ADMIN_TOKEN}, quiet_period=0.3) as emu:
        s = requests.Session()
        s.auth = (h.ADMIN, h.ADMIN_TOKEN)
        assert h.post_xml(s, emu.url + "createItem?name=top", h.project_xml()).status_code == 200
        r = s.post(emu.url + "job/top/build", allow_redirects=False)
        assert r.status_code == 201 and r.content == b""
        m = re.fullmatch(re.escape(emu.url) + r"queue/item/(\d+)/", r.headers["Location"])
        assert m
        q = _wait_until_left(s, f"{emu.url}queue/item/{m[1]}/api/json?depth=0")
        assert q["_class"] == LEFT and q["why"] is None
        assert q["url"] == f"queue/item/{m[1]}/"
        assert q["executable"]["number"] == 1
        build = s.get(emu.url + "job/top/1/api/json?depth=0").json()
        assert build["number"] == 1 and build["result"] == "SUCCESS"
        assert build["building"] is False and build["queueId"] == int(m[1])
        # It "ran" when its quiet period ended: builds are stamped with the queue item's due time.
        assert abs(build["timestamp"] - q["inQueueSince"] - 300) <= 1
        assert s.get(emu.url + "job/top/api/json").json()["inQueue"] is False
        assert s.get(emu.url + "job/top/api/json").json()["color"] == "blue"

        r = s.post(emu.url + "job/top/build?delay=3600sec", allow_redirects=False)
        assert r.status_code == 201
        m = re.fullmatch(re.escape(emu.url) + r"queue/item/(\d+)/", r.headers["Location"])
        assert m
        again = s.post(emu.url + "job/top/build", allow_redirects=False)
        assert again.headers["Location"] == r.headers["Location"]  # merged with the waiting item
        q = s.get(f"{emu.url}queue/item/{m[1]}/api/json?depth=0").json()
        assert q["_class"] == WAITING
        assert q["url"] == f"queue/item/{m[1]}/" and q["why"].startswith("In the quiet period")
        assert s.get(emu.url + "job/top/api/json").json()["inQueue"] is True
        assert s.get(emu.url + "job/top/2/api/json").status_code == 404
        assert s.get(emu.url + "queue/item/999/api/json").status_code == 404
        assert s.get(emu.url + "job/top/build").status_code == 405


def test_14_disable_and_enable(seeded, admin, h) -> None:
    r = admin.post(seeded.url + "job/top/disable", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == seeded.url + "job/top/"
    info = admin.get(seeded.url + "job/top/api/json").json()
    assert info["disabled"] is True and info["color"] == "disabled"
    assert info["buildable"] is False
    assert "<disabled>true</disabled>" in admin.get(seeded.url + "job/top/config.xml").text
    r = admin.post(seeded.url + "job/top/build", allow_redirects=False)
    assert r.status_code == 409 and "top is not buildable" in unescape(r.text)
    assert admin.post(seeded.url + "job/top/enable").status_code == 200  # follows the 302
    assert admin.get(seeded.url + "job/top/api/json").json()["disabled"] is False
    assert admin.get(seeded.url + "job/top/disable").status_code == 405


# --- 15. version and plugins -----------------------------------------------------------------


def test_15_version_and_plugins(emu, admin, h) -> None:
    r = admin.get(emu.url)
    assert r.status_code == 200 and r.headers["X-Jenkins"]
    assert r.headers["Content-Type"].startswith("text/html")
    assert requests.get(emu.url).status_code == 403
    plugins = admin.get(emu.url + "pluginManager/api/json?depth=2").json()
    assert plugins["_class"] == "hudson.LocalPluginManager"
    first = plugins["plugins"][0]
    assert "_class" not in first
    assert list(first) == ["active", "backupVersion", "bundled", "deleted", "dependencies",
                           "detached", "downgradable", "enabled", "hasUpdate", "longName",
                           "pinned", "requiredCoreVersion", "shortName", "supportsDynamicLoad",
                           "url", "version"]
    denied = requests.get(emu.url + "pluginManager/api/json?depth=2", auth=(h.DEV, h.DEV_PW))
    assert denied.status_code == 403 and denied.reason == "Forbidden"


def test_every_response_has_content_length_and_x_jenkins(seeded, admin, h) -> None:
    responses = [
        admin.get(seeded.url), admin.get(seeded.url + "api/json"),
        admin.get(seeded.url + "nope"),
        admin.post(seeded.url + "job/top/disable", allow_redirects=False),
        h.post_xml(admin, seeded.url + "createItem?name=new", h.project_xml()),
        h.post_xml(admin, seeded.url + "createItem?name=new", h.project_xml()),
        admin.get(seeded.url + "job/top/doDelete"),
        requests.get(seeded.url + "api/json", auth=(h.ADMIN, "bad")),
    ]
    for r in responses:
        assert r.headers["Content-Length"] == str(len(r.content)), r.url
        assert "X-Jenkins" in r.headers


def test_unknown_item_types_follow_the_installed_plugins(h) -> None:
    with JenkinsEmulator(tokens={h.ADMIN: h.ADMIN_TOKEN}, plugins=[]) as emu:
        s = requests.Session()
        s.auth = (h.ADMIN, h.ADMIN_TOKEN)
        assert h.post_xml(s, emu.url + "createItem?name=f", h.FOLDER_XML).status_code == 500
        assert h.post_xml(s, emu.url + "createItem?name=p", "<flow-definition/>").status_code == 500
        assert h.post_xml(s, emu.url + "createItem?name=j", h.project_xml()).status_code == 200
        assert s.get(emu.url + "pluginManager/api/json").json()["plugins"] == []


def test_request_log_records_writes(seeded, admin, h) -> None:
    h.post_xml(admin, seeded.url + "createItem?name=new", h.project_xml())
    h.post_xml(admin, seeded.url + "createItem?name=new", h.project_xml())
    admin.get(seeded.url + "api/json?tree=jobs%5Bname%5D")
    log = seeded.request_log
    assert [(r.method, r.path, r.status, r.write) for r in log] == [
        ("POST", "/createItem", 200, True), ("POST", "/createItem", 400, False),
        ("GET", "/api/json", 200, False)]
    assert log[2].query == "tree=jobs[name]" and log[0].user == h.ADMIN


def test_persistence_survives_a_restart(tmp_path, h) -> None:
    with JenkinsEmulator(tokens={h.ADMIN: h.ADMIN_TOKEN}, state_dir=tmp_path) as emu:
        s = requests.Session()
        s.auth = (h.ADMIN, h.ADMIN_TOKEN)
        h.post_xml(s, emu.url + "createItem?name=f", h.FOLDER_XML)
        h.post_xml(s, emu.url + "job/f/createItem?name=inner", h.project_xml("kept"))
        h.post_xml(s, emu.url + "createView?name=v1", h.LIST_VIEW_XML)
        config = emu.job_config("f/inner")
    assert json.loads((tmp_path / "state.json").read_text())["version"] == 1
    with JenkinsEmulator(tokens={h.ADMIN: h.ADMIN_TOKEN}, state_dir=tmp_path) as emu:
        assert emu.jobs() == ["f", "f/inner"] and emu.views() == ["all", "v1"]
        assert emu.job_config("f/inner") == config
