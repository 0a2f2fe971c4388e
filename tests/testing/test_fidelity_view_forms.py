"""Form-mode ``createView``, a ListView's ``addJobToView``/``removeJobFromView`` and
``checkJobName``, as the Jenkins UI and clients other than python-jenkins send them.

Sources: [core] jenkinsci/jenkins@8bfbe686 (tag jenkins-2.492.3) ``core/src/main/java/``;
[stapler] jenkinsci/stapler@135bbbc8 ``core/src/main/java/org/kohsuke/stapler/``.
"""

from __future__ import annotations

import json
from html import unescape

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_form_mode_create_view_makes_a_list_view(seeded, emu, admin) -> None:
    """View.create with ``mode`` ([core] hudson/model/View.java:1144-1194): the ViewDescriptor named
    by ``mode`` makes the view from the submitted form (``json``) under the ``name`` parameter, then
    302 to its configure page; Jenkins.doCreateView is @POST with View/Create (Jenkins.java:4247-4251)."""
    form = {"name": "team", "mode": "hudson.model.ListView",
            "json": json.dumps({"name": "ignored", "mode": "hudson.model.ListView", "includeRegex": "A.*"})}
    r = admin.post(emu.url + "createView", data=form, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == emu.url + "view/team/configure"
    assert emu.views() == ["all", "team", "v1"]
    view = admin.get(emu.url + "view/team/api/json").json()
    assert view["_class"] == "hudson.model.ListView" and view["name"] == "team"
    assert [j["name"] for j in view["jobs"]] == ["Alpha"]  # includeRegex from the form
    config = emu.view_config("team")
    assert "<name>team</name>" in config and "<hudson.views.StatusColumn/>" in config
    assert "<includeRegex>A.*</includeRegex>" in config

    folder = admin.post(emu.url + "job/f/createView?name=fv&mode=hudson.model.ListView",
                        data={"json": "{}"}, allow_redirects=False)
    assert folder.headers["Location"] == emu.url + "job/f/view/fv/configure"
    assert emu.views("f") == ["All", "fv"]


def test_form_mode_create_view_failures(seeded, emu, admin) -> None:
    cases = (("name=v1&mode=hudson.model.ListView", 'A view already exists with the name "v1"'),
             ("name=x&mode=no.such.View", "No view type ‘no.such.View’ is known"),
             ("name=x&mode=copy&from=nope", "No such view: nope"),
             ("name=x&mode=copy", "Specify which view to copy"),
             ("name=a%2Fb&mode=hudson.model.ListView", "‘/’ is an unsafe character"))
    for query, message in cases:
        r = admin.post(emu.url + "createView?" + query, data={"json": "{}"}, allow_redirects=False)
        assert r.status_code == 400 and message in unescape(r.text), query
    # no "json" at all: getSubmittedForm answers 400 (RequestImpl.java:1313-1322)
    nothing = admin.post(emu.url + "createView", data={"name": "x", "mode": "hudson.model.ListView"})
    assert nothing.status_code == 400 and "This page expects a form submission" in nothing.text
    garbled = admin.post(emu.url + "createView?name=x&mode=hudson.model.ListView", data={"json": "{"})
    assert garbled.status_code == 500
    assert "x" not in emu.views()


def test_copy_mode_copies_a_view(seeded, emu, admin) -> None:
    r = admin.post(emu.url + "createView?name=v2&mode=copy&from=v1", headers=FORM, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == emu.url + "view/v2/configure"
    assert [j["name"] for j in admin.get(emu.url + "view/v2/api/json").json()["jobs"]] == ["top"]


def test_create_view_needs_the_view_create_permission(seeded, emu, h) -> None:
    viewer = h.crumbed_session(emu, h.VIEWER, h.VIEWER_PW)
    r = viewer.post(emu.url + "createView", data={"name": "x", "mode": "hudson.model.ListView", "json": "{}"})
    assert r.status_code == 403 and r.headers["X-Required-Permission"] == "hudson.model.View.Create"


def test_add_and_remove_job_on_a_list_view(seeded, emu, admin, h) -> None:
    """ListView.doAddJobToView / doRemoveJobFromView ([core] hudson/model/ListView.java:392-436):
    @RequirePOST, View/Configure, ``name`` resolved in the owner group or relative to it; 200, empty."""
    r = admin.post(emu.url + "view/v1/addJobToView?name=Alpha")
    assert r.status_code == 200 and r.content == b""
    assert [j["name"] for j in admin.get(emu.url + "view/v1/api/json").json()["jobs"]] == ["Alpha", "top"]
    assert "<string>Alpha</string>" in emu.view_config("v1")
    assert admin.post(emu.url + "view/v1/addJobToView?name=alpha").status_code == 200  # shown already
    assert emu.view_config("v1").count("<string>") == 2
    # a nested item is kept by its relative name (jobNames), shown only by a recursive view
    assert admin.post(emu.url + "view/v1/addJobToView", data={"name": "f/inner"}).status_code == 200
    assert "<string>f/inner</string>" in emu.view_config("v1")

    assert admin.post(emu.url + "view/v1/removeJobFromView?name=top").status_code == 200
    assert [j["name"] for j in admin.get(emu.url + "view/v1/api/json").json()["jobs"]] == ["Alpha"]
    assert admin.post(emu.url + "view/v1/removeJobFromView?name=top").status_code == 200  # gone already

    for path, message in (("addJobToView", "Query parameter 'name' is required"),
                          ("addJobToView?name=nope", "Query parameter 'name' does not correspond to a known item"),
                          ("removeJobFromView?name=nope",
                           "Query parameter 'name' does not correspond to a known and readable item")):
        bad = admin.post(emu.url + "view/v1/" + path)
        assert bad.status_code == 400 and bad.headers["X-Error"] == message
    assert admin.get(emu.url + "view/v1/addJobToView?name=top").status_code == 405
    viewer = h.crumbed_session(emu, h.VIEWER, h.VIEWER_PW)
    denied = viewer.post(emu.url + "view/v1/addJobToView?name=top")
    assert denied.status_code == 403 and denied.headers["X-Required-Permission"] == "hudson.model.View.Configure"


def test_add_job_to_a_folder_view_and_deletion_forgets_it(seeded, emu, admin, h) -> None:
    h.post_xml(admin, emu.url + "job/f/createView?name=fv", h.LIST_VIEW_XML)
    assert admin.post(emu.url + "job/f/view/fv/addJobToView?name=inner").status_code == 200
    assert [j["name"] for j in admin.get(emu.url + "job/f/view/fv/api/json").json()["jobs"]] == ["inner"]
    admin.post(emu.url + "job/f/job/inner/doDelete")
    # ListView.Listener.onDeleted drops the name (ListView.java:608-650)
    assert "<string>inner</string>" not in emu.view_config("fv", folder="f")


def test_check_job_name_answers_a_form_validation(seeded, emu, admin, h) -> None:
    """View.doCheckJobName ([core] hudson/model/View.java:837-862) through the primary view:
    Item/Create; FormValidation.ok() is ``<div/>``, an error ``<div class="error">`` with the
    message escaped by Util.escape ([core] hudson/util/FormValidation.java:149-164, 271-285,
    612-621; hudson/Util.java:1023-1057)."""
    ok = admin.get(emu.url + "checkJobName?value=fresh")
    assert ok.status_code == 200 and ok.text == "<div/>"
    assert ok.headers["Content-Type"] == "text/html;charset=utf-8"
    assert ok.headers["Content-Security-Policy"] == "sandbox; default-src 'none';"
    assert admin.get(emu.url + "checkJobName").text == "<div/>"  # empty is fine
    assert admin.get(emu.url + "checkJobName?value=").text == "<div/>"
    taken = admin.get(emu.url + "checkJobName?value=TOP")
    assert taken.text == '<div class="error">A job already exists with the name ‘TOP’</div>'
    assert admin.get(emu.url + "checkJobName?value=a%3Cb").text == (
        '<div class="error">‘&lt;’ is an unsafe character</div>')
    assert admin.get(emu.url + "checkJobName?value=x.").text == (
        '<div class="error">A name cannot end with ‘.’</div>')
    assert admin.get(emu.url + "job/f/checkJobName?value=inner").text.startswith('<div class="error">')
    assert admin.get(emu.url + "job/f/checkJobName?value=top").text == "<div/>"
    assert admin.get(emu.url + "view/v1/checkJobName?value=top").text.startswith('<div class="error">')
    viewer = h.crumbed_session(emu, h.VIEWER, h.VIEWER_PW)
    assert viewer.get(emu.url + "checkJobName?value=x").status_code == 403
