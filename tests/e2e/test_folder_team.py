"""A folder team end to end: the platform team's envtool (namespace folder `platform/`), whose
CI artifact is the provisioning tool every environment job runs. The jobs are the generated
ones, pushed into the emulator; the job runner runs them (a test instrument, not Jenkins)."""

from __future__ import annotations

import re

import pytest

from jjb_envdelivery.cli.demo_loop import prepare_loop
from jjb_envdelivery.environments.catalog import VERIFIED
from tests.e2e.conftest import console_tail, disable, edit_yaml, pushed, run_until, summary

LINE = "current"
CI, PACKAGE, DELIVER = (f"platform/envtool-{LINE}-{stage}" for stage in ("ci", "package", "deliver"))
BUILD, VERIFY = (f"delivery/env-minimal-{LINE}-{stage}" for stage in ("build", "verify"))


def _assert_succeeded(records) -> None:
    failed = [r for r in records if r.result != "SUCCESS"]
    assert not failed, "\n\n".join(console_tail(r) for r in failed)


def test_a_commit_is_built_packaged_and_installed_on_the_agents(org_copy, tmp_path):
    """Defect 1: the package job copies the CI job's artifact and the deliver job the package
    job's, across the folder `platform/`. copyartifact permits a copy only when the source's
    CopyArtifactPermissionProperty names the copier relative to the source's folder or as "/" + its
    full name (copyartifact@937817258df3:src/main/java/hudson/plugins/copyartifact/
    CopyArtifactPermissionProperty.java:99-133); otherwise "Unable to find project for artifact
    copy" (CopyArtifact.java:457-491). The runner applies that check as a secured Jenkins does."""
    with pushed(org_copy(), tmp_path, "platform") as (emulator, org):
        disable(emulator, "delivery/env-")  # this test follows the service's own jobs
        loop = prepare_loop(emulator, org, tmp_path / "demo", say=lambda _: None)
        version = loop.commit()
        records = loop.runner.run_queue()
        assert summary(records) == [(CI, 1, "SUCCESS"), (PACKAGE, 1, "SUCCESS"), (DELIVER, 1, "SUCCESS")], \
            "\n\n".join(console_tail(r) for r in records)
        ci, package, _ = records
        assert f"dist/envtool-{version}.pyz" in ci.artifacts
        assert re.search(r"^Ran \d+ tests in .*\n\nOK$", ci.console, re.M)  # the tool's unit tests (unittest)
        debs = [a for a in package.artifacts if a.endswith(".deb")]
        assert len(debs) == 1 and debs[0].startswith("package/envtool_1-g")
        for agent in loop.agent_dirs:  # the inventory credential's agents, each with the package unpacked
            assert (agent / "opt/envtool/dist" / f"envtool-{version}.pyz").is_file()


def test_node_routes_the_team_jobs_to_the_agents_with_that_label(org_copy, tmp_path):
    """Defect 2: `node: builders` in a team's project puts `<assignedNode>builders</assignedNode>`
    and `<canRoam>false</canRoam>` in each of its jobs (core AbstractProject.java:147-249), so
    Jenkins runs them only on an agent with the label `builders`. Here the built-in node comes
    first and takes any job: a job that ignored `node` would run there."""
    def builders(org_dir):
        def on_builders(data):
            project = data[0]["project"]
            project.update(node="builders", build='echo "NODE_NAME=$NODE_NAME"\n' + project["build"])
        edit_yaml(org_dir / "teams/platform/jenkins/envtool.yaml", on_builders)

        def grant_builders(data):  # the job policy refuses a label the org file does not grant
            next(p for p in data["projects"] if p["name"] == "platform")["allow"]["agent-labels"].append("builders")
        edit_yaml(org_dir / "delivery.yaml", grant_builders)
    with pushed(org_copy(builders), tmp_path, "platform") as (emulator, org):
        disable(emulator, "delivery/env-")
        loop = prepare_loop(emulator, org, tmp_path / "demo", say=lambda _: None,
                            agents={"built-in": [], "builders": ["builders"]})
        loop.commit()
        records = loop.runner.run_queue()
        assert summary(records) == [(CI, 1, "SUCCESS"), (PACKAGE, 1, "SUCCESS"), (DELIVER, 1, "SUCCESS")], \
            "\n\n".join(console_tail(r) for r in records)
        for record in records:
            assert record.node == "builders", (record.job, record.node)
            assert "Building remotely on builders" in record.console
        assert "NODE_NAME=builders" in records[0].console  # what Jenkins sets for the build's shell steps


def _minimal_only(org_dir):
    edit_yaml(org_dir / "delivery.yaml", lambda data: data["environments"].update(
        variants=[v for v in data["environments"]["variants"] if v["name"] == "minimal"]))


@pytest.mark.slow  # three envtool versions through CI, package, deliver and the environment jobs
def test_environment_jobs_use_the_newest_tool_and_verify_with_the_one_they_were_built_with(org_copy, tmp_path):
    """Defect 7. The build job must run only the newest stable envtool CI artifact, even with an
    older one left in its workspace by its previous build; and verify must run the tool the
    template was built with, even when a newer envtool CI build finished between the two.
    copyartifact's StatusBuildSelector picks the newest completed run of the source job
    (copyartifact@937817258df3:src/main/java/hudson/plugins/copyartifact/StatusBuildSelector.java:40-65),
    so a verify job copying from the CI job gets the newer tool; TriggeredBuildSelector follows
    the build's upstream causes (TriggeredBuildSelector.java:200-260), so one copying from the
    build job that triggered it gets the tool that build archived."""
    with pushed(org_copy(_minimal_only), tmp_path, "platform") as (emulator, org):
        loop = prepare_loop(emulator, org, tmp_path / "demo", say=lambda _: None)
        first = loop.commit()
        _assert_succeeded(loop.runner.run_queue())  # CI, package, deliver, build, verify, gc
        second = loop.commit()
        records = run_until(loop.runner, PACKAGE)  # the queue now holds deliver #2 and build #2
        third = loop.commit()  # CI #3 is queued behind build #2, so it runs before verify #2
        records += run_until(loop.runner, BUILD)
        build = records[-1]
        # Build #1 left envtool-<first>.pyz in this workspace: the job must empty the directory,
        # run the one tool it copied, and keep (archive) exactly that one for its verify job.
        assert sorted(p.name for p in (build.workspace / ".envdelivery/tool").iterdir()) == [
            f"envtool-{second}.pyz"]
        assert f"envtool {second}: provisioned" in build.console, console_tail(build)
        assert f"envtool {first}" not in build.console
        assert [a for a in build.artifacts if a.endswith(".pyz")] == [f".envdelivery/tool/envtool-{second}.pyz"]
        records += loop.runner.run_queue()
        _assert_succeeded(records)
        order = [(r.job, r.number) for r in records]
        assert order.index((BUILD, 2)) < order.index((CI, 3)) < order.index((VERIFY, 2))

        verify = next(r for r in records if (r.job, r.number) == (VERIFY, 2))
        assert f"envtool {second}: check --smoke ok" in verify.console, console_tail(verify)
        assert f"envtool {third}" not in verify.console

        templates = {t.version: t for t in loop.result(third).templates if t.variant == "minimal"}
        assert {v: t.artifacts["envtool"]["version"] for v, t in templates.items()} == {
            1: first, 2: second, 3: third}
        assert all(t.status == VERIFIED for t in templates.values())
