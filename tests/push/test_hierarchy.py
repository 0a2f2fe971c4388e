"""Issue 4's end-to-end proof: bootstrap, then the stored shell steps of the root and child
updaters, run as Jenkins would run them, against the emulator over HTTP."""

from __future__ import annotations

import threading

import pytest

from jjb_envdelivery.cli.main import main
from jjb_envdelivery.model.loader import load_organisation


def writes(emu):
    return [(r.method, r.path) for r in emu.request_log if r.write]


def bootstrap_and_root(emu, conf, org_copy, agent, tmp_path):
    assert main(["bootstrap", str(org_copy), "--conf", str(conf), "--cache-dir", str(tmp_path / "boot")]) == 0
    assert set(emu.jobs()) == {"delivery", "delivery/root-updater"}
    result = agent.run("delivery/root-updater", org_copy)
    assert result.returncode == 0, result.stderr
    return result


def run_children(emu, org, org_copy, agent):
    for project in org.projects:
        workspace = org_copy / project.repo.local_checkout.relative_to(org.org_dir)
        result = agent.run(f"delivery/updater-{project.name}", workspace)
        assert result.returncode == 0, (project.name, result.stderr)


def test_bootstrap_is_idempotent_and_checks_plugins(emu, conf, org_copy, tmp_path, capsys):
    cache = str(tmp_path / "cache")
    assert main(["bootstrap", str(org_copy), "--conf", str(conf), "--cache-dir", cache]) == 0
    emu.clear_log()
    assert main(["bootstrap", str(org_copy), "--conf", str(conf), "--cache-dir", cache]) == 0
    assert writes(emu) == []
    # A server without the plugins: bootstrap names them and writes nothing.
    emu.state.plugins = [p for p in emu.state.plugins if p["shortName"] not in ("git", "copyartifact")]
    emu.clear_log()
    assert main(["bootstrap", str(org_copy), "--conf", str(conf), "--cache-dir", cache]) == 1
    err = capsys.readouterr().err
    assert "git (>= 4.0.0): not installed" in err and "copyartifact (>= 1.46): not installed" in err
    assert writes(emu) == []


@pytest.mark.slow  # every updater of the example organisation (400 jobs), twice
def test_root_then_children_build_the_whole_organisation(emu, conf, org_copy, agent, tmp_path):
    org = load_organisation(org_copy)
    bootstrap_and_root(emu, conf, org_copy, agent, tmp_path)
    jobs = set(emu.jobs())
    assert {f"delivery/updater-{p.name}" for p in org.projects} <= jobs
    assert "delivery/env-full-current-build" in jobs
    assert set(emu.views()) >= {"project-portal", "release-current", "pipeline-upcoming"}
    assert agent.owner("delivery/root-updater") == "root"
    assert agent.view_owner("pipeline-current") == "root"

    run_children(emu, org, org_copy, agent)
    jobs = set(emu.jobs())
    assert len(jobs) == 407  # 400, the drift check and identity's 6 multibranch jobs
    for name in jobs:
        project = next((p for p in org.projects if p.namespace.contains(name)), None)
        assert agent.owner(name) == (project.name if project else "root"), name

    # Everything is in place: a second round of every updater writes nothing.
    emu.clear_log()
    assert agent.run("delivery/root-updater", org_copy).returncode == 0
    run_children(emu, org, org_copy, agent)
    assert writes(emu) == []


@pytest.mark.slow  # the root and every child updater: the whole example organisation pushed
def test_removed_team_job_is_deleted_and_nothing_else(emu, conf, org_copy, agent, tmp_path):
    org = load_organisation(org_copy)
    bootstrap_and_root(emu, conf, org_copy, agent, tmp_path)
    extra = org_copy / "teams/identity/jenkins/extra.yaml"
    extra.write_text("- job:\n    name: identity/one-off\n    disabled: false\n    node: identity-build\n")
    run_children(emu, org, org_copy, agent)
    before = set(emu.jobs())
    assert "identity/one-off" in before

    extra.unlink()
    emu.clear_log()
    assert agent.run("delivery/updater-identity", org_copy / "teams/identity").returncode == 0
    assert writes(emu) == [("POST", "/job/identity/job/one-off/doDelete")]
    assert set(emu.jobs()) == before - {"identity/one-off"}


def test_renamed_project_replaces_its_child_updater(emu, conf, org_copy, agent, tmp_path):
    bootstrap_and_root(emu, conf, org_copy, agent, tmp_path)
    org_file = org_copy / "delivery.yaml"
    org_file.write_text(org_file.read_text().replace("  - name: storage\n", "  - name: storage-team\n"
                                                     "    namespace: storage\n"))
    emu.clear_log()
    assert agent.run("delivery/root-updater", org_copy).returncode == 0
    jobs = set(emu.jobs())
    assert "delivery/updater-storage" not in jobs and "delivery/updater-storage-team" in jobs
    changed = writes(emu)
    assert ("POST", "/job/delivery/job/updater-storage/doDelete") in changed
    assert ("POST", "/job/delivery/createItem") in changed
    assert ("POST", "/view/project-storage/doDelete") in changed
    # Nothing else was deleted.
    assert {w for w in changed if w[1].endswith("doDelete")} == {
        ("POST", "/job/delivery/job/updater-storage/doDelete"), ("POST", "/view/project-storage/doDelete")}


@pytest.mark.slow  # two emulators, each bootstrapped with the root scope and two teams pushed
def test_two_child_updaters_at_once_equal_one_after_the_other(org_copy, tmp_path, world):
    org = load_organisation(org_copy)

    def build(concurrently: bool) -> dict[str, str]:
        where = tmp_path / ("together" if concurrently else "apart")
        with world.new_emulator() as emu:
            conf = world.write_conf(emu, where.with_suffix(".ini"))
            agent = world.make_agent(emu, conf, where / "cache")
            bootstrap_and_root(emu, conf, org_copy, agent, where)
            results = {}

            def child(name):
                results[name] = agent.run(f"delivery/updater-{name}", org_copy / f"teams/{name}")

            threads = [threading.Thread(target=child, args=(name,)) for name in ("compute", "portal")]
            for thread in threads:
                thread.start()
                if not concurrently:
                    thread.join()
            for thread in threads:
                thread.join()
            assert all(r.returncode == 0 for r in results.values()), {k: r.stderr for k, r in results.items()}
            return {name: emu.job_config(name) for name in emu.jobs()}

    together, apart = build(True), build(False)
    assert len([n for n in together if n.startswith(("compute/", "portal-"))]) == (7 + 8) * 9
    assert together == apart
    assert org.project("compute")
