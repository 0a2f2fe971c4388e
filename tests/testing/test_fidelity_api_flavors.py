"""``api/xml`` and ``api/python`` beside ``api/json``, as jenkinsapi and XML clients read them.

Jenkins: core ``hudson/model/Api.java:104-296`` (jenkinsci/jenkins@8bfbe686, jenkins-2.492.3)
serves one exported bean as JSON, XML or a Python literal; the writers are Stapler's
(jenkinsci/stapler@135bbbc8 ``core/src/main/java/org/kohsuke/stapler/export/``):
``XMLDataWriter.java:55-178`` (root element = the class's simple name decapitalised, arrays as
repeated singular elements, nulls left out, ``_class`` a single-quoted attribute, no XML
declaration), ``PythonDataWriter.java:38-59`` (JSON with ``True``/``False``/``None``),
``JSONDataWriter.java:108-159`` (ISO controls and surrogates as lower-case ``\\uXXXX``),
``Flavor.java:35-65`` (content types). ``xpath``/``wrapper``/``exclude``: ``Api.java:113-211`` with
the messages of ``hudson/model/Messages.properties:80-83``.
"""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET

import pytest


def test_root_item_and_crumb_issuer_answer_in_xml(seeded, admin) -> None:
    root = admin.get(seeded.url + "api/xml")
    assert root.status_code == 200
    assert root.headers["Content-Type"] == "application/xml;charset=UTF-8"
    assert not root.text.startswith("<?xml")  # Stapler writes no declaration
    assert root.text.startswith("<hudson _class='hudson.model.Hudson'>")
    doc = ET.fromstring(root.content)
    assert [j.findtext("name") for j in doc.findall("job")] == ["Alpha", "f", "top"]  # jobs -> job
    assert doc.find("job").get("_class") == "hudson.model.FreeStyleProject"
    assert doc.find("description") is None  # null: left out
    assert doc.findtext("useCrumbs") == "true" and [v.findtext("name") for v in doc.findall("view")] == ["all", "v1"]

    job = admin.get(seeded.url + "job/top/api/xml").text
    assert job.startswith("<freeStyleProject _class='hudson.model.FreeStyleProject'><description>top job")
    assert "&lt;!-- Managed by Jenkins Job Builder --&gt;</description>" in job  # only < > & escaped
    folder = admin.get(seeded.url + "job/f/api/xml").text
    assert folder.startswith("<folder _class='com.cloudbees.hudson.plugins.folder.Folder'>")
    assert "<job _class='hudson.model.FreeStyleProject'><name>inner</name>" in folder

    crumb = admin.get(seeded.url + "crumbIssuer/api/xml")
    assert crumb.status_code == 200
    assert ET.fromstring(crumb.content).tag == "defaultCrumbIssuer"
    assert crumb.text.startswith("<defaultCrumbIssuer _class='hudson.security.csrf.DefaultCrumbIssuer'><crumb>")
    assert crumb.text.endswith("</crumb><crumbRequestField>Jenkins-Crumb</crumbRequestField></defaultCrumbIssuer>")


def test_python_flavour_is_a_python_literal(seeded, admin) -> None:
    r = admin.get(seeded.url + "job/top/api/python")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/x-python;charset=UTF-8"
    assert ":False," in r.text and ":None," in r.text and "true" not in r.text.replace("True", "")
    data = ast.literal_eval(r.text)  # what jenkinsapi does with it
    assert data == admin.get(seeded.url + "job/top/api/json").json()
    root = ast.literal_eval(admin.get(seeded.url + "api/python?tree=jobs[name],useCrumbs").text)
    assert root == {"_class": "hudson.model.Hudson", "jobs": [
        {"_class": "hudson.model.FreeStyleProject", "name": "Alpha"},
        {"_class": "com.cloudbees.hudson.plugins.folder.Folder", "name": "f"},
        {"_class": "hudson.model.FreeStyleProject", "name": "top"}], "useCrumbs": True}
    crumb = ast.literal_eval(admin.get(seeded.url + "crumbIssuer/api/python").text)
    assert list(crumb) == ["_class", "crumb", "crumbRequestField"]


def test_strings_escape_controls_and_surrogates_like_stapler(seeded, admin, h) -> None:
    h.post_xml(admin, seeded.url + "job/top/config.xml", h.project_xml("line\ttab\nnext \"q\" \\ é 😀"))
    raw = admin.get(seeded.url + "job/top/api/json?tree=description").text
    assert raw == ('{"_class":"hudson.model.FreeStyleProject",'
                   '"description":"line\\u0009tab\\u000anext \\"q\\" \\\\ é \\ud83d\\ude00"}')
    python = admin.get(seeded.url + "job/top/api/python?tree=description").text
    assert python == raw  # same literal: Python reads \\uXXXX the same way
    assert ast.literal_eval(python)["description"].startswith("line\ttab\nnext")


def test_xml_tree_and_depth_prune_like_json(seeded, admin) -> None:
    r = admin.get(seeded.url + "api/xml?tree=jobs[name,jobs[name]]")
    assert r.text == ("<hudson _class='hudson.model.Hudson'>"
                      "<job _class='hudson.model.FreeStyleProject'><name>Alpha</name></job>"
                      "<job _class='com.cloudbees.hudson.plugins.folder.Folder'><name>f</name>"
                      "<job _class='hudson.model.FreeStyleProject'><name>inner</name></job></job>"
                      "<job _class='hudson.model.FreeStyleProject'><name>top</name></job></hudson>")
    assert admin.get(seeded.url + "api/xml?depth=x").status_code == 500
    assert admin.get(seeded.url + "api/xml?tree=jobs[").status_code == 500


def test_xpath_selects_one_node_wraps_many_and_refuses_primitives(seeded, admin) -> None:
    one = admin.get(seeded.url + "api/xml", params={"xpath": "/hudson/job[name='top']/url"})
    assert one.status_code == 200 and one.headers["Content-Type"] == "application/xml;charset=UTF-8"
    assert one.text == f"<url>{seeded.url}job/top/</url>"  # an element: dom4j writes no declaration

    many = admin.get(seeded.url + "api/xml", params={"xpath": "//job/name", "wrapper": "names"})
    assert many.text == "<names><name>Alpha</name><name>f</name><name>top</name></names>"
    none = admin.get(seeded.url + "api/xml", params={"xpath": "//nothing", "wrapper": "w"})
    assert none.text == "<w/>"

    several = admin.get(seeded.url + "api/xml", params={"xpath": "//job/name"})
    assert several.status_code == 500
    assert several.text.startswith('XPath "//job/name" matched 3 nodes. Create XPath that only matches one')
    missing = admin.get(seeded.url + "api/xml", params={"xpath": "/hudson/nothing"})
    assert missing.status_code == 404 and missing.text == "XPath /hudson/nothing didn’t match"
    text = admin.get(seeded.url + "api/xml", params={"xpath": "/hudson/job[name='top']/name/text()"})
    assert text.status_code == 403
    assert "primitive XPath result sets forbidden" in text.text
    bad = admin.get(seeded.url + "api/xml", params={"xpath": "//name", "wrapper": "1bad"})
    assert bad.status_code == 400 and bad.text.startswith("The wrapper parameter can only contain")
    # beyond the emulator's subset, as an expression Jenkins cannot compile: 500
    assert admin.get(seeded.url + "api/xml", params={"xpath": "count(//job)"}).status_code == 500


def test_exclude_drops_nodes_and_writes_the_document(seeded, admin) -> None:
    r = admin.get(seeded.url + "job/f/api/xml", params={"exclude": "//job"})
    assert r.status_code == 200
    assert r.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<folder _class="com.cloudbees')
    assert "<job " not in r.text and "<name>f</name>" in r.text


@pytest.mark.parametrize("path", ["queue/api/xml", "view/v1/api/xml", "pluginManager/api/xml?depth=1",
                                  "me/api/python", "job/f/job/inner/api/python"])
def test_other_beans_answer_in_both_flavours(seeded, admin, path) -> None:
    assert admin.get(seeded.url + path).status_code == 200


def test_xml_root_names_follow_the_simple_class_name(seeded, admin) -> None:
    assert admin.get(seeded.url + "view/v1/api/xml").text.startswith("<listView _class='hudson.model.ListView'>")
    assert admin.get(seeded.url + "queue/api/xml").text.startswith("<queue _class='hudson.model.Queue'>")
    assert admin.post(seeded.url + "job/top/build").status_code == 201
    waiting = admin.get(seeded.url + "queue/item/1/api/xml").text
    assert waiting.startswith("<waitingItem _class='hudson.model.Queue$WaitingItem'>") or \
        waiting.startswith("<leftItem _class='hudson.model.Queue$LeftItem'>")
