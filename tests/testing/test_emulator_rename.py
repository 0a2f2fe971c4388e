"""``POST job/NAME/confirmRename?newName=NEW`` as Jenkins answers it.

Jenkins (jenkinsci/jenkins@ff9430ee, core/src/main/java/hudson/model/AbstractItem.java):
``doConfirmRename`` is ``@RequirePOST``; it trims ``newName`` and validates it with
``doCheckNewName``, which needs Item/Configure, or else Item/Create on the parent and
Item/Delete; ``Jenkins.checkGoodName``; the same name is a warning ("The new name is the same as
the current name.") and a name in use an error ("The name “NEW” is already in use.",
AbstractItem.NewNameInUse in hudson/model/Messages.properties); anything but OK is thrown as a
``Failure``, which renders AbstractModelObject/error.jelly: status 400 with the message in
``X-Error``. Then ``renameTo`` moves the item (a folder with everything in it) and the answer is
``HttpResponses.redirectTo("../" + encode(newName))``: a 302 to the item's new URL.
"""

from __future__ import annotations

from html import unescape


def test_rename_moves_the_folder_with_its_descendants_and_redirects(seeded, emu, admin, h) -> None:
    assert h.post_xml(admin, emu.url + "job/f/createItem?name=sub", h.FOLDER_XML).status_code == 200
    assert h.post_xml(admin, emu.url + "job/f/job/sub/createItem?name=deep", h.project_xml("deep")).status_code == 200
    before = emu.job_config("f/sub/deep")

    r = admin.post(emu.url + "job/f/confirmRename?newName=g", allow_redirects=False)

    assert r.status_code == 302 and r.headers["Location"] == emu.url + "job/g"
    assert {"g", "g/inner", "g/sub", "g/sub/deep"} <= set(emu.jobs())
    assert not any(name == "f" or name.startswith("f/") for name in emu.jobs())
    assert emu.job_config("g/sub/deep") == before
    assert admin.get(emu.url + "job/g/job/sub/job/deep/api/json").json()["fullName"] == "g/sub/deep"
    assert admin.get(emu.url + "job/f/api/json").status_code == 404


def test_rename_refuses_a_name_in_use_the_same_name_and_a_bad_name(seeded, emu, admin) -> None:
    for query, message in (("newName=top", "The name “top” is already in use."),
                           ("newName=TOP", "The name “TOP” is already in use."),  # names ignore case
                           ("newName=f", "The new name is the same as the current name."),
                           ("newName=a%2Fb", "‘/’ is an unsafe character"),
                           ("", "No name is specified")):
        r = admin.post(f"{emu.url}job/f/confirmRename?{query}", allow_redirects=False)
        assert r.status_code == 400, query
        assert r.headers["X-Error"] and message in unescape(r.text), query  # the header: Latin-1 only
    assert {"f", "f/inner", "top"} <= set(emu.jobs())


def test_rename_needs_post_and_permission(seeded, emu, admin, h) -> None:
    assert admin.get(emu.url + "job/f/confirmRename?newName=g").status_code == 405
    viewer = h.crumbed_session(emu, h.VIEWER, h.VIEWER_PW)
    denied = viewer.post(emu.url + "job/f/confirmRename?newName=g", allow_redirects=False)
    assert denied.status_code == 403
    assert "f" in emu.jobs() and "g" not in emu.jobs()
