"""What a rendered item carries (kind, description, source) is what push and the graph would
read back from its printed XML: they no longer parse it to find out."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.errors import EnvDeliveryError
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


class _Item:
    def __init__(self, name: str):
        self.name = name

    def output(self) -> bytes:
        return b"<project/>"


@pytest.mark.parametrize("name", ["../escaped", "a/../../escaped", "/tmp/escaped", "..", "a\x00b", "a\x1bb"])
def test_an_output_path_outside_the_directory_is_refused_before_any_write(tmp_path, name):
    """JJB's layout normalises the name into a path (os.path.normpath), so plain JJB input (no
    namespace check) could leave OUT; the check is in output_path itself, and write_xml checks
    every path before it writes the first file."""
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(EnvDeliveryError, match=r"^item .*nothing is written$"):
        pipeline.write_xml([_Item("fine"), _Item(name)], out, threads=1)
    assert list(tmp_path.rglob("*")) == [out]


def test_names_jjb_normalises_inside_the_directory_still_write(tmp_path):
    assert pipeline.output_path(tmp_path, "a/./b") == tmp_path / "a/b/config.xml"
    assert pipeline.write_xml([_Item("a/b/../c")], tmp_path) == [tmp_path / "a/c/config.xml"]


def test_plain_jjb_input_cannot_write_outside_the_output_directory(tmp_path, capsys):
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text('- job:\n    name: "../../escaped"\n')
    before = set(tmp_path.rglob("*"))
    assert main(["render", str(jobs), "-o", str(tmp_path / "a/out")]) == 1
    err = capsys.readouterr().err
    assert err == ("jjb-envdelivery: error: item '../../escaped': its output path '../../escaped' lies outside "
                   "the output directory; nothing is written\n")
    assert set(tmp_path.rglob("*")) - before == {tmp_path / "a"}  # the output's parent, made empty
