"""The fast path's one switch: ``JJB_ENVDELIVERY_FAST=0`` and ``render --no-fast`` render through
JJB's own classes only; an unverified JJB turns the fast path off with one warning; fallbacks
say (at debug level) what fell back and why."""

from __future__ import annotations

import logging

import pytest
from jenkins_jobs.registry import ModuleRegistry

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.jjb import fast, pipeline
from jjb_envdelivery.jjb.fast.registry import FastModuleRegistry


@pytest.fixture
def fresh_switch(monkeypatch):
    """The version check forgotten before and after, and no override left behind."""
    fast._unverified_reason.cache_clear()
    monkeypatch.setattr(fast, "_warned", False)
    yield
    fast._unverified_reason.cache_clear()
    pipeline.set_fast_path(None)


def _registries_used(monkeypatch, path) -> list[str]:
    used = []
    for cls in (FastModuleRegistry, ModuleRegistry):
        real = cls.__init__

        def init(self, *args, _real=real, _cls=cls, **kwargs):
            if type(self) is _cls:
                used.append(_cls.__name__)
            _real(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", init)
    pipeline.generate_xml(pipeline.make_jjb_config(), [path], processes=1)
    return used


def test_default_takes_the_fast_path(tmp_path, monkeypatch, fresh_switch, many_projects):
    monkeypatch.delenv(fast.SWITCH_ENV, raising=False)
    assert _registries_used(monkeypatch, many_projects(tmp_path / "jobs.yaml", projects=2)) == ["FastModuleRegistry"]


@pytest.mark.parametrize("value", ["0", " 0 "])
def test_switched_off_by_the_environment(tmp_path, monkeypatch, fresh_switch, many_projects, value):
    monkeypatch.setenv(fast.SWITCH_ENV, value)
    assert _registries_used(monkeypatch, many_projects(tmp_path / "jobs.yaml", projects=2)) == ["ModuleRegistry"]


def test_no_fast_flag_renders_the_same_bytes_and_is_undone(tmp_path, monkeypatch, fresh_switch, many_projects):
    monkeypatch.delenv(fast.SWITCH_ENV, raising=False)
    path = many_projects(tmp_path / "jobs.yaml", projects=3)
    assert main(["render", str(path), "-o", str(tmp_path / "fast")]) == 0
    assert main(["render", "--no-fast", str(path), "-o", str(tmp_path / "jjb")]) == 0
    files = sorted(p.relative_to(tmp_path / "fast") for p in (tmp_path / "fast").rglob("config.xml"))
    assert len(files) == 7
    assert all((tmp_path / "fast" / f).read_bytes() == (tmp_path / "jjb" / f).read_bytes() for f in files)
    assert fast.enabled()  # the flag lasts one command


def test_unverified_jjb_turns_the_fast_path_off_with_one_warning(tmp_path, monkeypatch, caplog, fresh_switch,
                                                                 many_projects):
    monkeypatch.delenv(fast.SWITCH_ENV, raising=False)
    monkeypatch.setattr(fast, "installed_jjb", lambda: "6.9.1")
    path = many_projects(tmp_path / "jobs.yaml", projects=2)
    with caplog.at_level(logging.WARNING, logger="jjb_envdelivery"):
        assert _registries_used(monkeypatch, path) == ["ModuleRegistry"]
        assert not fast.enabled()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "jenkins-job-builder 6.9.1 is not a release the fast path was verified against (6.5.0)" in warnings[0]


def test_a_missing_private_name_turns_the_fast_path_off(monkeypatch, caplog, fresh_switch):
    monkeypatch.delenv(fast.SWITCH_ENV, raising=False)
    monkeypatch.setattr(fast, "PRIVATE_JJB_NAMES", (*fast.PRIVATE_JJB_NAMES,
                                                    "jenkins_jobs.registry.ModuleRegistry._gone_in_a_later_release"))
    with caplog.at_level(logging.WARNING, logger="jjb_envdelivery"):
        assert not fast.enabled()
    assert "lacks jenkins_jobs.registry.ModuleRegistry._gone_in_a_later_release" in caplog.text


def test_every_private_name_the_fast_path_uses_exists_in_the_installed_jjb():
    assert fast.missing_private_names() == []


def test_a_swallowed_failure_is_logged_at_debug(tmp_path, monkeypatch, caplog, fresh_switch):
    """libyaml loading fails on a syntax error; JJB's own loader then raises JJB's error."""
    monkeypatch.delenv(fast.SWITCH_ENV, raising=False)
    path = tmp_path / "broken.yaml"
    path.write_text("- job:\n    name: a\n  bad: [\n")
    with caplog.at_level(logging.DEBUG, logger="jjb_envdelivery"), pytest.raises(Exception, match="broken.yaml"):
        pipeline.generate_xml(pipeline.make_jjb_config(), [path], processes=1)
    assert "loading again with JJB's own loader" in caplog.text
