"""Operations on items beyond create/configure/delete, as Jenkins answers them.

Sources: [core] jenkinsci/jenkins@8bfbe686 (tag jenkins-2.492.3) ``core/src/main/java/``;
[folder] jenkinsci/cloudbees-folder-plugin@b72f4d5c ``src/main/java/com/cloudbees/hudson/plugins/folder/``;
[stapler] jenkinsci/stapler@135bbbc8 ``core/src/main/java/org/kohsuke/stapler/``.
"""

from __future__ import annotations

from html import unescape

import jenkins
import pytest
import requests


def test_do_rename_is_a_job_s_alias_of_confirm_rename(seeded, emu, admin, pj) -> None:
    """[core] hudson/model/Job.java:1676-1694: ``doDoRename`` (URL ``doRename``, @RequirePOST) calls
    ``doConfirmRename(newName)`` (AbstractItem.java:250-264); Job only, so a folder has none (404);
    a building job refuses (Job.checkRename, "Unable to rename a job while it is building.")."""
    r = admin.post(emu.url + "job/top/doRename?newName=renamed", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == emu.url + "job/renamed"
    assert "renamed" in emu.jobs() and "top" not in emu.jobs()
    assert admin.get(emu.url + "job/renamed/doRename?newName=x").status_code == 405
    assert admin.post(emu.url + "job/f/doRename?newName=g").status_code == 404
    clash = admin.post(emu.url + "job/renamed/doRename?newName=alpha", allow_redirects=False)
    assert clash.status_code == 400 and "The name “alpha” is already in use." in unescape(clash.text)

    pj.rename_job("f/inner", "f/inner2")  # python-jenkins' rename_job uses doRename
    assert pj.job_exists("f/inner2") and not pj.job_exists("f/inner")


def test_rename_keeps_list_views_pointing_at_the_item(seeded, emu, admin) -> None:
    """ListView.Listener.onLocationChanged rewrites jobNames ([core] ListView.java:560-606)."""
    admin.post(emu.url + "job/top/confirmRename?newName=peak")
    assert "<string>peak</string>" in emu.view_config("v1")
    assert [j["name"] for j in admin.get(emu.url + "view/v1/api/json").json()["jobs"]] == ["peak"]


def test_move_relocates_an_item_into_a_folder_and_back(seeded, emu, admin, h) -> None:
    """[folder] relocate/RelocationAction.java:49-179 (``move``), DefaultRelocationUI.java:100-130
    (``move/move``: @RequirePOST, Item/Move, ``destination`` = "/" + full name) and
    StandardHandler.java:69-197 (Items.move, 302 to the new URL; unknown or same destination:
    forwardToPreviousPage, a 302 to the Referer or ".")."""
    r = admin.post(emu.url + "job/top/move/move", data={"destination": "/f"}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == emu.url + "job/f/job/top/"
    assert {"f/top", "f/inner"} <= set(emu.jobs()) and "top" not in emu.jobs()
    assert admin.get(r.headers["Location"] + "api/json").json()["fullName"] == "f/top"
    # the root view's jobNames followed: "top" is now "f/top" (computeRelativeNamesAfterRenaming)
    assert "<string>f/top</string>" in emu.view_config("v1")

    back = admin.post(emu.url + "job/f/job/top/move/move", data={"destination": "/"}, allow_redirects=False)
    assert back.status_code == 302 and back.headers["Location"] == emu.url + "job/top/"
    assert "top" in emu.jobs()

    for destination in ("/nowhere", "/", "/f/inner"):  # unknown, its own parent, not a folder
        stay = admin.post(emu.url + "job/top/move/move", data={"destination": destination},
                          allow_redirects=False)
        assert stay.status_code == 302 and stay.headers["Location"] == emu.url + "job/top/move/"
    referer = admin.post(emu.url + "job/top/move/move", data={"destination": "/x"},
                         headers={"Referer": emu.url + "somewhere"}, allow_redirects=False)
    assert referer.headers["Location"] == emu.url + "somewhere"
    # a folder cannot go into itself or below itself
    admin.post(emu.url + "job/f/createItem?name=sub", data=h.FOLDER_XML, headers=h.XML)
    inside = admin.post(emu.url + "job/f/move/move", data={"destination": "/f/sub"}, allow_redirects=False)
    assert inside.headers["Location"] == emu.url + "job/f/move/" and "f/sub" in emu.jobs()
    # a name taken in the destination folder is no destination
    admin.post(emu.url + "job/f/createItem?name=top", data=h.project_xml(), headers=h.XML)
    taken = admin.post(emu.url + "job/top/move/move", data={"destination": "/f"}, allow_redirects=False)
    assert taken.headers["Location"] == emu.url + "job/top/move/"


def test_move_needs_post_and_the_move_permission(seeded, emu, admin, h) -> None:
    assert admin.get(emu.url + "job/top/move/move?destination=/f").status_code == 405
    viewer = h.crumbed_session(emu, h.VIEWER, h.VIEWER_PW)
    denied = viewer.post(emu.url + "job/top/move/move", data={"destination": "/f"}, allow_redirects=False)
    assert denied.status_code == 403 and denied.headers["X-Required-Permission"] == "hudson.model.Item.Move"
    assert "top" in emu.jobs()


def test_http_delete_on_an_item_url_deletes_it(seeded, emu, admin, h) -> None:
    """AbstractItem is HttpDeletable: DELETE with no token left calls delete(req, rsp): Item/Delete,
    then 204 ([stapler] HttpDeletable.java:75-87; [core] AbstractItem.java:741-760). CrumbFilter
    checks POST only ([core] hudson/security/csrf/CrumbFilter.java:125): a password user needs no crumb."""
    r = requests.delete(emu.url + "job/f/job/inner/", auth=(h.ADMIN, h.ADMIN_PW))
    assert r.status_code == 204 and r.content == b""
    assert "f/inner" not in emu.jobs()
    assert requests.delete(emu.url + "job/f", auth=(h.ADMIN, h.ADMIN_PW)).status_code == 204
    assert emu.jobs() == ["Alpha", "top"]
    assert requests.delete(emu.url + "job/missing/", auth=(h.ADMIN, h.ADMIN_PW)).status_code == 404
    viewer = requests.delete(emu.url + "job/top/", auth=(h.VIEWER, h.VIEWER_PW))
    assert viewer.status_code == 403 and "top" in emu.jobs()


def test_disable_on_a_plain_folder_changes_nothing(seeded, emu, admin, h) -> None:
    """AbstractFolder.doDisable: Item/Configure, makeDisabled(true), which does nothing when the
    folder type does not support it (only ComputedFolder does), then 302 to "."
    ([folder] AbstractFolder.java:1017-1093; computed/ComputedFolder.java:361-379). A Folder is no
    ParameterizedJob: it exports no ``disabled``."""
    before = emu.job_config("f")
    r = admin.post(emu.url + "job/f/disable", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == emu.url + "job/f/"
    assert emu.job_config("f") == before
    info = admin.get(emu.url + "job/f/api/json").json()
    assert "disabled" not in info and "buildable" not in info
    assert admin.post(emu.url + "job/f/enable", allow_redirects=False).status_code == 302
    assert emu.job_config("f") == before
    assert h.crumbed_session(emu, h.VIEWER, h.VIEWER_PW).post(emu.url + "job/f/disable").status_code == 403
    # a folder whose config says <disabled>true</disabled> is still not disabled (isDisabled() is false)
    folder = h.FOLDER_XML.replace("<properties/>", "<properties/><disabled>true</disabled>")
    h.post_xml(admin, emu.url + "createItem?name=g", folder)
    admin.post(emu.url + "job/g/createItem?name=x", data=h.project_xml(), headers=h.XML)
    assert admin.post(emu.url + "job/g/job/x/build").status_code == 201


def test_disabling_a_job_cancels_its_waiting_build(emu, admin, h) -> None:
    """makeDisabled(true) cancels the job's queue item ([core] ParameterizedJobMixIn.java:517-530):
    it leaves the queue as a cancelled LeftItem ([core] hudson/model/Queue.java:2900-2945)."""
    with_quiet = h.project_xml().replace("<builders/>", "<quietPeriod>60</quietPeriod><builders/>")
    h.post_xml(admin, emu.url + "createItem?name=slow", with_quiet)
    queued = admin.post(emu.url + "job/slow/build")
    assert queued.status_code == 201
    admin.post(emu.url + "job/slow/disable")
    item = admin.get(queued.headers["Location"] + "api/json").json()
    assert item["_class"] == "hudson.model.Queue$LeftItem" and item["cancelled"] is True
    assert item["executable"] is None and admin.get(emu.url + "job/slow/api/json").json()["inQueue"] is False


def test_submit_description_sets_the_description(seeded, emu, admin, h) -> None:
    """AbstractItem.doSubmitDescription ([core] AbstractItem.java:653-683): @RequirePOST,
    Item/Configure, ``setDescription(description)`` (saves, :221-225), 302 to "."."""
    r = admin.post(emu.url + "job/f/job/inner/submitDescription", data={"description": "new <b>text</b>"},
                   allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == emu.url + "job/f/job/inner/"
    assert admin.get(emu.url + "job/f/job/inner/api/json").json()["description"] == "new <b>text</b>"
    assert admin.post(emu.url + "job/f/submitDescription", data={"description": "folder"}).status_code == 200
    assert admin.get(emu.url + "job/f/api/json?tree=description").json()["description"] == "folder"
    admin.post(emu.url + "job/f/submitDescription")  # no parameter: null, the element goes
    assert admin.get(emu.url + "job/f/api/json?tree=description").json()["description"] is None
    assert admin.get(emu.url + "job/top/submitDescription?description=x").status_code == 405
    viewer = h.crumbed_session(emu, h.VIEWER, h.VIEWER_PW)
    assert viewer.post(emu.url + "job/top/submitDescription", data={"description": "x"}).status_code == 403


def test_copy_resolves_from_relative_to_the_target_folder(seeded, emu, admin, pj) -> None:
    """createItem?mode=copy: ``Jenkins.getItem(from, parent)`` ([core] ItemGroupMixIn.java:174-188,
    Jenkins.java:3018-3060): relative to the folder created in, ".." allowed, "/x" absolute, then
    by full name; no ``from`` "Specify which job to copy", unknown "No such job: X" (400)."""
    assert admin.post(emu.url + "job/f/createItem?name=c1&mode=copy&from=inner",
                      allow_redirects=False).headers["Location"] == emu.url + "job/f/job/c1/configure"
    assert admin.post(emu.url + "job/f/createItem?name=c2&mode=copy&from=../top").status_code == 200
    assert admin.post(emu.url + "job/f/createItem?name=c3&mode=copy&from=/Alpha").status_code == 200
    assert admin.post(emu.url + "createItem?name=c4&mode=copy&from=f/inner").status_code == 200
    assert {"f/c1", "f/c2", "f/c3", "c4"} <= set(emu.jobs())
    assert emu.job_config("f/c2") == emu.job_config("top")
    for query, message in (("name=c5&mode=copy", "Specify which job to copy"),
                           ("name=c5&mode=copy&from=nope", "No such job: nope"),
                           ("name=c5&mode=copy&from=../inner", "No such job: ../inner")):
        r = admin.post(emu.url + "job/f/createItem?" + query, allow_redirects=False)
        assert r.status_code == 400 and r.headers["X-Error"] == message
    pj.copy_job("f/inner", "f/inner-copy")  # python-jenkins sends the short name, from the folder
    assert pj.job_exists("f/inner-copy")


def test_a_copied_job_is_not_buildable_until_it_is_saved(seeded, emu, admin) -> None:
    """Job.onCopiedFrom sets holdOffBuildUntilSave; save() clears it ([core] Job.java:201-206,
    249-256); isBuildable is false meanwhile (ParameterizedJobMixIn.java:559-561), so build is 409.
    POST config.xml does not call save() (AbstractItem.updateByXml); disable + enable does."""
    admin.post(emu.url + "createItem?name=twin&mode=copy&from=top")
    assert admin.get(emu.url + "job/twin/api/json").json()["buildable"] is False
    r = admin.post(emu.url + "job/twin/build")
    assert r.status_code == 409 and "twin is not buildable" in r.text
    admin.post(emu.url + "job/twin/disable")
    admin.post(emu.url + "job/twin/enable")
    assert admin.get(emu.url + "job/twin/api/json").json()["buildable"] is True
    assert admin.post(emu.url + "job/twin/build").status_code == 201


def test_an_item_reached_through_a_view_is_the_same_item(seeded, emu, admin) -> None:
    """View.getJob resolves in the view's owner group, member of the view or not ([core]
    hudson/model/View.java:221-230); AbstractItem.getUrl answers the URL the request came by
    (AbstractItem.java:533-577, [stapler] AncestorImpl.java:65-72); doDelete from there redirects
    to the view (AbstractItem.java:716-735)."""
    via_view = admin.get(emu.url + "view/v1/job/top/api/json").json()
    direct = admin.get(emu.url + "job/top/api/json").json()
    assert via_view["fullName"] == direct["fullName"] == "top"
    assert via_view["url"] == emu.url + "view/v1/job/top/" and direct["url"] == emu.url + "job/top/"
    nested = admin.get(emu.url + "view/All/job/f/job/inner/api/json").json()
    assert nested["url"] == emu.url + "view/All/job/f/job/inner/"
    assert admin.get(emu.url + "view/v1/job/Alpha/config.xml").text == emu.job_config("Alpha")  # not in v1
    assert admin.get(emu.url + "view/v1/job/nope/api/json").status_code == 404
    assert admin.get(emu.url + "view/nope/job/top/api/json").status_code == 404
    r = admin.post(emu.url + "view/v1/job/top/doDelete", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == emu.url + "view/v1/"
    assert "top" not in emu.jobs()


@pytest.mark.parametrize("name", ["TOP", "top"])
def test_the_url_follows_the_requested_name(seeded, admin, name) -> None:
    """Item lookup ignores case; ``url`` is the requested path (Stapler ancestors, raw tokens)."""
    info = admin.get(seeded.url + f"job/{name}/api/json").json()
    assert info["name"] == "top" and info["url"] == seeded.url + f"job/{name}/"


def test_python_jenkins_still_sees_its_own_calls(seeded, pj) -> None:
    with pytest.raises(jenkins.NotFoundException):
        pj.get_job_config("missing")
