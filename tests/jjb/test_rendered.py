"""What a rendered item carries (kind, description, source) is what push and the graph would
read back from its printed XML: they no longer parse it to find out."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from jjb_envdelivery.jjb import pipeline
from jjb_envdelivery.jjb.rendered import FOLDER_TAG, ItemKind

JOBS = """\
- job:
    name: plain
    description: "one line"
- job:
    name: crlf
    description: "first\\r\\nsecond\\rthird"
- job:
    name: nothing
- job:
    name: box
    project-type: folder
    description: a folder
- job:
    name: box/inner
    project-type: pipeline
    dsl: "echo 1"
- view:
    name: all-of-them
    view-type: list
    description: "a view"
"""


@pytest.fixture(params=["fast", "jjb"])
def mode(request):
    pipeline.set_fast_path(request.param == "fast")
    yield request.param
    pipeline.set_fast_path(None)


def test_facts_equal_what_the_printed_xml_says(tmp_path, mode):
    path = tmp_path / "jobs.yaml"
    path.write_text(JOBS)
    rendered = pipeline.generate_xml(pipeline.make_jjb_config(), [path], owner="team")
    assert [i.name for i in rendered.items] == ["box", "box/inner", "crlf", "nothing", "plain", "all-of-them"]
    for item in rendered.items:
        root = ET.fromstring(item.output())
        expected_kind = (ItemKind.VIEW if item in rendered.views
                         else ItemKind.FOLDER if root.tag == FOLDER_TAG else ItemKind.JOB)
        assert (item.kind, item.description) == (expected_kind, root.findtext("description")), item.name
        assert item.source.startswith(f"{path}:"), item.source
    by_name = {item.name: item for item in rendered.items}
    assert by_name["crlf"].description.startswith("first\nsecond\nthird")  # as a parser reads it back
    assert by_name["box"].kind == ItemKind.FOLDER and by_name["box/inner"].kind == ItemKind.JOB
    assert by_name["plain"].source == f"{path}:1"
    assert rendered.sources["all-of-them"] == f"{path}:17"


def test_facts_of_the_example_organisation(example_org_dir, mode):
    from jjb_envdelivery.orchestration.checked_render import render_organisation

    result = render_organisation(example_org_dir, check=False)
    items = [item for scope in result.scopes for item in scope.rendered.items]
    assert len(items) > 400
    for item in items:
        root = ET.fromstring(item.output())
        assert item.description == root.findtext("description"), item.name
        assert (item.kind == ItemKind.FOLDER) == (root.tag == FOLDER_TAG), item.name
