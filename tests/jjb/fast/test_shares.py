"""The fast path's garbage-collection policy (``jjb.fast.shares``): a higher young-generation threshold while rendering,
everything frozen only around forking workers, all as it was afterwards, and a caller's own
freeze respected."""

from __future__ import annotations

import gc

import pytest

from jjb_envdelivery.jjb import parallel, pipeline
from jjb_envdelivery.jjb.fast.xml_generators import FastXmlJobGenerator


@pytest.fixture
def restore_gc():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def _render(path, processes, monkeypatch) -> list:
    """(young threshold, frozen count) when jobs are generated and when workers are forked."""
    seen = []
    real_generate, real_fork = FastXmlJobGenerator.generateXML, parallel.fork_map

    def generate(self, data):
        seen.append(("generate", gc.get_threshold()[0], gc.get_freeze_count()))
        return real_generate(self, data)

    def fork_map(*args):
        seen.append(("fork", gc.get_threshold()[0], gc.get_freeze_count()))
        return real_fork(*args)

    monkeypatch.setattr(FastXmlJobGenerator, "generateXML", generate)
    monkeypatch.setattr(parallel, "fork_map", fork_map)
    pipeline.generate_xml(pipeline.make_jjb_config(), [path], processes=processes)
    return seen


def test_one_process_collects_less_often_and_freezes_nothing(tmp_path, restore_gc, monkeypatch, many_projects):
    seen = _render(many_projects(tmp_path / "jobs.yaml", projects=3), 1, monkeypatch)
    assert seen == [("generate", 200_000, 0)]
    assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0


def test_everything_is_frozen_around_forking_only(tmp_path, restore_gc, monkeypatch, many_projects):
    seen = _render(many_projects(tmp_path / "jobs.yaml"), 2, monkeypatch)
    forks = [s for s in seen if s[0] == "fork"]
    assert len(forks) == 1 and forks[0][1] == 200_000 and forks[0][2] > 1000  # the loaded YAML, ...
    assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0


def test_a_callers_freeze_is_left_alone(tmp_path, restore_gc, monkeypatch, many_projects):
    gc.freeze()
    before = gc.get_freeze_count()
    seen = _render(many_projects(tmp_path / "jobs.yaml"), 2, monkeypatch)
    # Nothing more frozen here (frozen objects that die leave the count), and the caller's
    # objects stay frozen afterwards.
    assert all(0 < frozen <= before for _, _, frozen in seen)
    assert 0 < gc.get_freeze_count() <= before


def test_policy_is_undone_on_error(tmp_path, restore_gc):
    path = tmp_path / "broken.yaml"
    # Enough top-level jobs to be split over workers, all failing.
    path.write_text("".join(f"- job:\n    name: j{n}\n    builders: [no-such-builder]\n" for n in range(40)))
    with pytest.raises(Exception, match="no-such-builder"):
        pipeline.generate_xml(pipeline.make_jjb_config(), [path], processes=2)
    assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0
