"""pipeline's garbage-collection policy: a higher young-generation threshold and the loaded YAML
frozen while rendering, everything as it was afterwards, and a caller's own freeze respected."""

from __future__ import annotations

import gc

import pytest

from jjb_envdelivery.jjb import pipeline


@pytest.fixture
def restore_gc():
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def _render(tmp_path, seen: list) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text("- job:\n    name: one\n    builders: [shell: 'make']\n")
    real = pipeline.FastXmlJobGenerator.generateXML

    def spy(self, data):
        seen.append((gc.get_threshold()[0], gc.get_freeze_count()))
        return real(self, data)

    pipeline.FastXmlJobGenerator.generateXML = spy
    try:
        pipeline.generate_xml(pipeline.make_jjb_config(), [path], processes=1)
    finally:
        pipeline.FastXmlJobGenerator.generateXML = real


def test_loaded_yaml_is_frozen_while_generating_then_released(tmp_path, restore_gc):
    gc.set_threshold(700, 10, 10)
    seen = []
    _render(tmp_path, seen)
    threshold, frozen = seen[0]
    assert threshold == 200_000 and frozen > 1000  # the loaded YAML, JJB's modules, ...
    assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0


def test_a_callers_freeze_is_left_alone(tmp_path, restore_gc):
    gc.freeze()
    before = gc.get_freeze_count()
    seen = []
    _render(tmp_path, seen)
    # Nothing more frozen here (frozen objects that die leave the count), and the caller's
    # objects stay frozen afterwards.
    assert 0 < seen[0][1] <= before
    assert 0 < gc.get_freeze_count() <= before


def test_policy_is_undone_on_error(tmp_path, restore_gc):
    gc.set_threshold(700, 10, 10)
    path = tmp_path / "broken.yaml"
    path.write_text("- job:\n    name: one\n    builders: [no-such-builder]\n")
    with pytest.raises(Exception, match="no-such-builder"):
        pipeline.generate_xml(pipeline.make_jjb_config(), [path], processes=1)
    assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0
