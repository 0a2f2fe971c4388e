"""Plain `jenkins-jobs update` (JJB 6.5, with this package installed) against the emulator:
the example organisation stored as rendered, reruns write nothing, and `--delete-old` does
what JJB documents, which is why the scoped update exists."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.data_dirs import shipped_templates_dir
from jjb_envdelivery.model.loader import load_organisation

JENKINS_JOBS = Path(sys.executable).with_name("jenkins-jobs")


def jenkins_jobs(conf: Path, cache: Path, *args: str) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    result = subprocess.run([JENKINS_JOBS, "--conf", str(conf), "-l", "error", *args], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def scopes(example_org_dir, tmp_path):
    """Each scope's YAML path list, as the render emits it for plain JJB."""
    emitted = tmp_path / "yaml"
    assert main(["render", str(example_org_dir), "-o", str(tmp_path / "rendered"), "--emit-yaml", str(emitted)]) == 0
    org = load_organisation(example_org_dir)
    paths = {"root": [str(emitted / "root.yaml")]}
    for p in org.projects:
        paths[p.name] = [str(emitted / f"context-{p.name}.yaml"), str(shipped_templates_dir()),
                         str(p.repo.local_checkout / p.jobs_path)]
    return {name: os.pathsep.join(p) for name, p in paths.items()}, tmp_path / "rendered"


def rendered_items(out: Path) -> dict[str, bytes]:
    return {p.parent.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("config.xml")}


def push_all(conf, cache, scopes, *extra):
    paths, _ = scopes
    jenkins_jobs(conf, cache, "update", *extra, paths["root"])
    for name, path in paths.items():
        if name != "root":
            jenkins_jobs(conf, cache, "update", "-r", *extra, path)


@pytest.mark.slow  # the whole example organisation (400 jobs) pushed twice by jenkins-jobs
def test_example_organisation_pushed_by_plain_jjb(emu, conf, scopes, tmp_path, world):
    cache = tmp_path / "jjb-cache"
    push_all(conf, cache, scopes)
    expected = rendered_items(scopes[1])
    stored_views = set(emu.views())
    views = {name for name in expected if name.startswith(("project-", "release-", "pipeline-"))}
    assert views <= stored_views
    assert set(emu.jobs()) == set(expected) - views
    for name, xml in expected.items():
        stored = emu.view_config(name) if name in views else emu.job_config(name)
        if name == "delivery":  # its credential store (seeded: the updater's credential) is the server's
            stored = re.sub(r"<com\.cloudbees\.hudson\.plugins\.folder\.properties\.FolderCredentialsProvider_-"
                            r"FolderCredentialsProperty.*</com\.cloudbees\.hudson\.plugins\.folder\.properties\."
                            r"FolderCredentialsProvider_-FolderCredentialsProperty>", "", stored, flags=re.S)
        assert world.normal_xml(stored) == world.normal_xml(xml), name

    emu.clear_log()
    push_all(conf, cache, scopes)
    assert [r for r in emu.request_log if r.write] == []


@pytest.mark.slow  # the whole example organisation pushed by jenkins-jobs, then --delete-old
def test_delete_old_of_one_scope_deletes_every_other_scopes_jobs(emu, conf, scopes, tmp_path):
    cache = tmp_path / "jjb-cache"
    push_all(conf, cache, scopes)
    before = set(emu.jobs())
    paths, out = scopes
    root_items = {n for n in rendered_items(out)}  # the root scope renders first and alone
    emu.clear_log()
    # The root scope's own run, with --delete-old, as a root updater built on plain JJB would do.
    jenkins_jobs(conf, cache, "update", "--delete-old", paths["root"])
    deleted = before - set(emu.jobs())
    team_jobs = {n for n in before if n.startswith("portal-") or n.count("/") == 1
                 and not n.startswith("delivery/")}
    assert deleted == team_jobs  # JJB: every managed job not in this run's YAML
    assert len(deleted) == 366
    assert root_items  # sanity: the rendered set was not empty


def test_scoped_update_leaves_other_scopes_alone(emu, conf, example_org_dir, tmp_path, agent):
    cache = str(tmp_path / "cache")
    org_file = str(example_org_dir / "delivery.yaml")
    assert main(["update", "--scope", "root", "--org-file", org_file, "--conf", str(conf), "--cache-dir", cache]) == 0
    for project in ("identity", "compute"):
        assert main(["update", "--scope", project, "--org-file", org_file, "--conf", str(conf),
                     "--cache-dir", cache]) == 0
    before = set(emu.jobs())
    emu.clear_log()
    assert main(["update", "--scope", "identity", "--org-file", org_file, "--conf", str(conf),
                 "--cache-dir", cache]) == 0
    assert [r for r in emu.request_log if r.write] == []
    assert set(emu.jobs()) == before
