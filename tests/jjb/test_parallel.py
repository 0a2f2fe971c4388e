"""Rendering in forked workers gives the serial path's bytes, order, sources and errors."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jenkins_jobs.errors import JenkinsJobsException

from jjb_envdelivery import ownership
from jjb_envdelivery.errors import EnvDeliveryError
from jjb_envdelivery.jjb import parallel, pipeline, rendered
from jjb_envdelivery.model.loader import load_organisation
from jjb_envdelivery.render import organisation_scopes, render_scope_list

PROJECTS = 40  # what the many_projects fixture makes by default: enough units for several shares
SMALL_ORG = Path(__file__).parents[1] / "render" / "fixtures" / "small-org"


@pytest.fixture
def small_org_scopes(tmp_path):
    """The small organisation's scopes (root and every project) and a JJB config."""
    org = load_organisation(Path(shutil.copytree(SMALL_ORG, tmp_path / "org")))
    (tmp_path / "work").mkdir()
    scopes = organisation_scopes(org, tmp_path / "work")
    assert len(scopes) >= 3
    return scopes, pipeline.make_jjb_config()


def _render(path, processes, **kwargs):
    try:
        scope = pipeline.generate_xml(pipeline.make_jjb_config(), [path], processes=processes, **kwargs)
    except JenkinsJobsException as exc:
        return ("error", pipeline.describe_error(exc))
    return ([(i.name, i.output()) for i in scope.jobs], [(i.name, i.output()) for i in scope.views], scope.sources)


def test_shares_equal_the_serial_path(tmp_path, many_projects):
    path = tmp_path / "jobs.yaml"
    many_projects(path)
    serial = _render(path, 1, owner="team", name_prefix="svc-")
    assert len(serial[0]) == 2 * PROJECTS and serial[1]
    assert _render(path, 2, owner="team", name_prefix="svc-") == serial
    assert _render(path, 3, owner="team", name_prefix="svc-") == serial


def test_first_error_is_the_serial_paths(tmp_path, many_projects):
    """Errors in several shares: the one JJB meets first (expansion before name checks)."""
    path = tmp_path / "jobs.yaml"
    many_projects(path, broken={
        7: "- project:\n    name: p7\n    stream: a\n    jobs: ['svc-{n}-{stream}']\n",  # missing n
        30: "- project:\n    name: p30\n    n: 30\n    stream: a\n    jobs: [no-such-template]\n",
    })
    serial = _render(path, 1)
    assert serial[0] == "error" and "p7" in serial[1]
    assert _render(path, 2) == serial


def test_namespace_refusal_is_the_serial_paths(tmp_path, many_projects):
    path = tmp_path / "jobs.yaml"
    many_projects(path, extra="- job:\n    name: elsewhere\n")
    serial = _render(path, 1, name_prefix="svc-")
    assert serial[0] == "error" and "elsewhere" in serial[1] and "outside the scope's namespace" in serial[1]
    assert _render(path, 2, name_prefix="svc-") == serial


@pytest.mark.parametrize("allow", [False, True])
def test_duplicates_across_shares_are_jjbs(tmp_path, allow, many_projects):
    path = tmp_path / "jobs.yaml"
    # p1 makes the same jobs as p0 (in another share): an error, or the last definition wins.
    many_projects(path, broken={1: "- project:\n    name: p1\n    n: 0\n    stream: [a, b]\n"
                                    "    jobs: ['svc-{n}-{stream}']\n"})
    ini = tmp_path / "jjb.ini"
    ini.write_text(f"[job_builder]\nallow_duplicates={allow}\n")
    config = pipeline.make_jjb_config(ini)
    results = []
    for processes in (1, 2):
        try:
            scope = pipeline.generate_xml(config, [path], processes=processes)
            results.append(([(i.name, i.output()) for i in scope.jobs], scope.sources))
        except JenkinsJobsException as exc:
            results.append(pipeline.describe_error(exc))
    assert results[0] == results[1]
    assert isinstance(results[0], str) != allow


def test_scopes_in_workers_equal_serial_and_fail_as_serial(small_org_scopes, monkeypatch):
    scopes, config = small_org_scopes
    monkeypatch.setattr(parallel, "_default", 1)
    serial = [(r.scope.name, [(i.name, i.output()) for i in r.rendered.jobs + r.rendered.views], r.rendered.sources)
              for r in render_scope_list(scopes, config, owned=frozenset({scopes[1].name}))]
    monkeypatch.setattr(parallel, "_default", 2)
    forked = [(r.scope.name, [(i.name, i.output()) for i in r.rendered.jobs + r.rendered.views], r.rendered.sources)
              for r in render_scope_list(scopes, config, owned=frozenset({scopes[1].name}))]
    assert forked == serial
    owners = {name: {ownership.owner_of(ET.fromstring(xml).findtext("description")) for _, xml in items}
              for name, items, _ in forked}
    assert owners[scopes[1].name] == {scopes[1].name}
    assert owners[scopes[0].name] == {None}


def test_worker_death_is_redone_here():
    def task(n):
        if n == 1 and parallel._in_worker:
            os._exit(3)  # a worker killed mid-task (say, by the OOM killer)
        return n * 10

    outcomes = list(parallel.fork_map(task, [0, 1, 2, 3], 2))
    assert outcomes[1] is parallel.FAILED
    # The pool breaks with its worker: other tasks may fail too, never with a wrong value.
    assert all(o is parallel.FAILED or o == n * 10 for n, o in enumerate(outcomes))
    assert task(1) == 10  # what render_scope_list then does: the task again, here


def test_failed_task_raises_its_own_error_from_a_scope_list(small_org_scopes, tmp_path):
    scopes, config = small_org_scopes
    bad = scopes[-1]
    team_dir = bad.yaml_paths[-1]  # the team's own YAML directory (a copy, in tmp_path)
    assert team_dir.is_relative_to(tmp_path)
    (team_dir / "broken.yaml").write_text("- job:\n    name: [\n")
    errors = []
    for count in (1, 2):
        parallel.set_default_processes(count)
        try:
            with pytest.raises(EnvDeliveryError) as excinfo:
                render_scope_list(scopes, config)
        finally:
            parallel.set_default_processes(None)
        errors.append(str(excinfo.value))
    assert errors[0] == errors[1] and bad.name in errors[0]


def test_workers_do_not_fork_again():
    outcomes = list(parallel.fork_map(lambda _: parallel.process_count(), [0, 1], 2))
    assert outcomes == [1, 1]


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5"])
def test_bad_process_count_is_refused(monkeypatch, text):
    monkeypatch.setenv(parallel.PROCESSES_ENV, text)
    with pytest.raises(EnvDeliveryError, match=parallel.PROCESSES_ENV):
        parallel.process_count()


def test_process_count_from_environment(monkeypatch):
    monkeypatch.setenv(parallel.PROCESSES_ENV, "3")
    assert parallel.process_count() == 3


def test_threaded_write_equals_serial(tmp_path, monkeypatch, many_projects):
    path = tmp_path / "jobs.yaml"
    many_projects(path, extra="- job:\n    name: svc-f\n    project-type: folder\n"
                               "- job:\n    name: svc-f/inner\n")
    scope = pipeline.generate_xml(pipeline.make_jjb_config(), [path], processes=1)
    monkeypatch.setattr(rendered, "MIN_ITEMS_FOR_WRITE_THREADS", 10**9)
    one = pipeline.write_xml(scope.jobs, tmp_path / "one")
    monkeypatch.setattr(rendered, "MIN_ITEMS_FOR_WRITE_THREADS", 1)
    two = pipeline.write_xml(scope.jobs, tmp_path / "two")
    assert [p.relative_to(tmp_path / "one") for p in one] == [p.relative_to(tmp_path / "two") for p in two]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(one, two, strict=True))
    assert sum(1 for _ in (tmp_path / "two").rglob("config.xml")) == len(scope.jobs) == 2 * PROJECTS + 2


def _files(directory: Path) -> dict:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("processes", [1, 2])
def test_written_by_workers_equals_jjbs_write(tmp_path, processes, many_projects):
    """Each worker writes what it made; the files are those of writing the serial result in
    JJB's order, including jobs that share a file (the last in JJB's order wins) and a view
    named like a job (views are written after jobs)."""
    path = tmp_path / "jobs.yaml"
    # The first units are the top-level jobs: these two land in different shares.
    many_projects(path, extra="- job:\n    name: dup/./x\n    description: first\n"
                               "- job:\n    name: dup/x\n    description: last\n"
                               "- job:\n    name: svc-all\n    description: a job named like the view\n")
    serial = pipeline.generate_xml(pipeline.make_jjb_config(), [path], processes=1)
    pipeline.write_xml(serial.jobs + serial.views, tmp_path / "serial")
    (tmp_path / "workers").mkdir()
    rendered = pipeline.generate_xml(pipeline.make_jjb_config(), [path], processes=processes,
                                     write_to=tmp_path / "workers")
    assert [(i.name, i.output()) for i in rendered.jobs] == [(i.name, i.output()) for i in serial.jobs]
    written = _files(tmp_path / "workers")
    assert written == _files(tmp_path / "serial")
    assert len(written) == len(serial.jobs) + len(serial.views) - 2  # two pairs share a file
    assert b"last" in written[os.path.join("dup", "x", "config.xml")]
    assert b"<hudson.model.ListView>" in written[os.path.join("svc-all", "config.xml")]
