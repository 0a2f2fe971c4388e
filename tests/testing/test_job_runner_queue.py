"""The job runner's queue, triggers and downstream builds, and their record in the emulator.

Sources (snapshots of shared/reference/jenkins-plugin-semantics.md §0):
- core Queue.java:612-652 and CauseAction.java:169-177: a build scheduled while the job already
  waits folds its cause into the waiting item;
- core BuildTrigger.java:254-300: downstream builds get an UpstreamCause; a disabled one is
  skipped with "… is disabled. Triggering skipped"; an already queued one "is already in the queue";
- core ReverseBuildTrigger.java:90-92, 128-180 and Result.java:187-192: upstream names relative
  to the downstream's folder with the full-name fallback (Jenkins.java:3050-3092); the threshold
  is read by its ordinal only;
- copyartifact TriggeredBuildSelector.java:168-185, 200-260: with several upstream causes the
  oldest build is used unless UseNewest (the global default is UseOldest).
"""

from __future__ import annotations

import pytest
import requests

from jjb_envdelivery.testing.job_runner import JobRunner, RunnerError

VERSION_PARAMETER = ("<hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
                     "<hudson.model.StringParameterDefinition><name>VERSION</name>"
                     "<defaultValue>0</defaultValue></hudson.model.StringParameterDefinition>"
                     "</parameterDefinitions></hudson.model.ParametersDefinitionProperty>")


def _ci_and_package(jr, emu, selector: str) -> None:
    jr.put_job(emu, "ci", jr.freestyle(
        builders=jr.shell('mkdir -p dist && echo "built by #$BUILD_NUMBER" > dist/version.txt'),
        publishers=jr.archive("dist/*.txt"),
        properties=jr.copy_grant("package") + VERSION_PARAMETER))
    jr.put_job(emu, "package", jr.freestyle(
        triggers=jr.reverse_trigger("ci"),
        builders=jr.copy_artifact("ci", selector=selector, filter="dist/*.txt", flatten="true")
        + jr.shell("cat version.txt")))


def _two_ci_builds_then_package(jr, emu, tmp_path):
    # Two CI builds queued with different parameters are two queue items; the package build
    # the first one triggers is still waiting when the second one ends, so it folds.
    runner = JobRunner(emu, tmp_path / "home")
    runner.schedule("ci", {"VERSION": "1"})
    runner.schedule("ci", {"VERSION": "2"})
    first, second, package = runner.run_queue()
    return runner, first, second, package


def test_two_upstream_builds_fold_into_one_package_build_that_copies_the_oldest(jr, bare_emu,
                                                                             tmp_path) -> None:
    # Defect 6: no upstreamFilterStrategy → the global setting, UseOldest.
    _ci_and_package(jr, bare_emu, '<selector class="hudson.plugins.copyartifact.'
                    'TriggeredBuildSelector"><fallbackToLastSuccessful>true'
                    '</fallbackToLastSuccessful></selector>')
    runner, first, second, package = _two_ci_builds_then_package(jr, bare_emu, tmp_path)
    assert (first.job, first.number, second.number) == ("ci", 1, 2)
    assert "Triggering a new build of package" in first.console
    assert "package is already in the queue" in second.console
    assert package.job == "package" and package.number == 1 and package.result == "SUCCESS"
    assert [(c["upstreamProject"], c["upstreamBuild"]) for c in package.causes] == \
        [("ci", 1), ("ci", 2)]
    assert 'Copied 1 artifact from "ci" build number 1' in package.console
    assert "built by #1" in package.console
    info = requests.get(bare_emu.url + "job/package/1/api/json").json()
    causes = info["actions"][0]["causes"]
    assert [c["_class"] for c in causes] == ["hudson.model.Cause$UpstreamCause"] * 2
    assert [c["upstreamBuild"] for c in causes] == [1, 2]
    assert causes[0]["upstreamUrl"] == "job/ci/"
    assert [b.job for b in runner.builds] == ["ci", "ci", "package"]


def test_use_newest_copies_the_newest_of_the_folded_upstream_builds(jr, bare_emu,
                                                                   tmp_path) -> None:
    _ci_and_package(jr, bare_emu, '<selector class="hudson.plugins.copyartifact.'
                    'TriggeredBuildSelector"><upstreamFilterStrategy>UseNewest'
                    '</upstreamFilterStrategy></selector>')
    *_, package = _two_ci_builds_then_package(jr, bare_emu, tmp_path)
    assert 'Copied 1 artifact from "ci" build number 2' in package.console
    assert "built by #2" in package.console


def test_queue_is_shown_by_the_emulator_while_a_build_waits(jr, bare_emu, tmp_path) -> None:
    jr.put_job(bare_emu, "ci", jr.freestyle(builders=jr.shell("true")))
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("ci")
    runner.schedule("ci")  # folds: one waiting item with the user cause twice
    job = requests.get(bare_emu.url + "job/ci/api/json").json()
    assert job["inQueue"] is True and job["nextBuildNumber"] == 1
    causes = job["queueItem"]["actions"][0]["causes"]
    assert [c["shortDescription"] for c in causes] == ["Started by user anonymous"] * 2
    queue = requests.get(bare_emu.url + "queue/api/json").json()
    assert len(queue["items"]) == 1
    build = runner.run_next()
    assert build.number == 1 and runner.run_next() is None
    job = requests.get(bare_emu.url + "job/ci/api/json").json()
    assert job["inQueue"] is False and job["queueItem"] is None
    assert job["lastBuild"]["number"] == job["lastSuccessfulBuild"]["number"] == 1
    assert job["lastCompletedBuild"]["number"] == 1 and job["lastFailedBuild"] is None
    assert job["nextBuildNumber"] == 2 and job["color"] == "blue"
    assert [b["number"] for b in job["builds"]] == [1]


def test_disabled_downstream_is_skipped_and_threshold_reads_only_the_ordinal(jr, bare_emu,
                                                                             tmp_path) -> None:
    jr.put_job(bare_emu, "up", jr.freestyle(builders=jr.shell("exit 1")))
    # name says FAILURE, ordinal 0 = SUCCESS: a failed upstream does not trigger it
    jr.put_job(bare_emu, "by-ordinal", jr.freestyle(
        triggers=jr.reverse_trigger("up", name="FAILURE", ordinal=0)))
    # ordinal 2 = FAILURE: fires for a failed upstream
    jr.put_job(bare_emu, "on-failure", jr.freestyle(
        triggers=jr.reverse_trigger("up", name="SUCCESS", ordinal=2)))
    jr.put_job(bare_emu, "off", jr.freestyle(
        triggers=jr.reverse_trigger("up", ordinal=2), disabled=True))
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("up")
    up = runner.run_next()
    assert up.result == "FAILURE"
    assert "off is disabled. Triggering skipped" in up.console
    assert "Triggering a new build of on-failure" in up.console
    assert [b.job for b in runner.run_queue()] == ["on-failure"]
    with pytest.raises(RunnerError, match="off: the job is disabled"):
        runner.schedule("off")


def test_upstream_names_resolve_from_the_downstream_folder_with_the_full_name_fallback(
        jr, bare_emu, tmp_path) -> None:
    jr.put_job(bare_emu, "team/ci", jr.freestyle(builders=jr.shell("true")))
    jr.put_job(bare_emu, "team/relative", jr.freestyle(triggers=jr.reverse_trigger("ci")))
    jr.put_job(bare_emu, "team/fallback", jr.freestyle(triggers=jr.reverse_trigger("team/ci")))
    jr.put_job(bare_emu, "team/absolute", jr.freestyle(triggers=jr.reverse_trigger("/team/ci")))
    jr.put_job(bare_emu, "other", jr.freestyle(triggers=jr.reverse_trigger("ci")))  # root's ci
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("team/ci")
    runner.run_queue()
    assert sorted(b.job for b in runner.builds) == ["team/absolute", "team/ci", "team/fallback",
                                                    "team/relative"]


def test_build_trigger_publisher_schedules_its_children(jr, bare_emu, tmp_path) -> None:
    jr.put_job(bare_emu, "f/up", jr.freestyle(
        builders=jr.shell("true"),
        publishers="<hudson.tasks.BuildTrigger><childProjects>down, ../top</childProjects>"
                   "<threshold><name>SUCCESS</name><ordinal>0</ordinal></threshold>"
                   "</hudson.tasks.BuildTrigger>"))
    jr.put_job(bare_emu, "f/down", jr.freestyle())
    jr.put_job(bare_emu, "top", jr.freestyle())
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("f/up")
    assert [b.job for b in runner.run_queue()] == ["f/up", "f/down", "top"]


def test_unknown_jobs_and_folders_are_refused(jr, bare_emu, tmp_path) -> None:
    jr.put_job(bare_emu, "team/ci", jr.freestyle())
    runner = JobRunner(bare_emu, tmp_path / "home")
    with pytest.raises(RunnerError, match="nope: no such job"):
        runner.schedule("nope")
    with pytest.raises(RunnerError, match="team: a folder; folders never build"):
        runner.schedule("team")


def test_parameters_defaults_and_given_values_reach_the_build(jr, bare_emu, tmp_path) -> None:
    params = ("<hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
              "<hudson.model.StringParameterDefinition><name>GREETING</name>"
              "<defaultValue>  hi  </defaultValue><trim>true</trim>"
              "</hudson.model.StringParameterDefinition>"
              "<hudson.model.BooleanParameterDefinition><name>LOUD</name>"
              "<defaultValue>false</defaultValue></hudson.model.BooleanParameterDefinition>"
              "<hudson.model.ChoiceParameterDefinition><name>COLOUR</name>"
              '<choices class="java.util.Arrays$ArrayList"><a class="string-array">'
              "<string>red</string><string>blue</string></a></choices>"
              "</hudson.model.ChoiceParameterDefinition>"
              "</parameterDefinitions></hudson.model.ParametersDefinitionProperty>")
    jr.put_job(bare_emu, "p", jr.freestyle(
        properties=params, builders=jr.shell('echo "[$GREETING] [$LOUD] [$COLOUR]"')))
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("p")
    assert "[hi] [false] [red]" in runner.run_next().console
    runner.schedule("p", {"LOUD": True, "COLOUR": "blue", "EXTRA": "x"})
    second = runner.run_next()
    assert "[hi] [true] [blue]" in second.console
    assert "Skipped 1 undefined parameter(s) on p: EXTRA" in second.console
    info = requests.get(bare_emu.url + "job/p/2/api/json").json()
    values = {p["name"]: p["value"] for p in info["actions"][1]["parameters"]}
    assert values == {"GREETING": "hi", "LOUD": True, "COLOUR": "blue"}
    with pytest.raises(RunnerError, match="COLOUR: 'green' is not one of the choices"):
        runner.schedule("p", {"COLOUR": "green"})


def test_the_emulator_simulates_builds_until_a_runner_is_attached(jr, bare_emu,
                                                                  tmp_path) -> None:
    jr.put_job(bare_emu, "ci", jr.freestyle(builders=jr.shell("exit 3")))
    assert requests.post(bare_emu.url + "job/ci/build").status_code == 201
    simulated = requests.get(bare_emu.url + "job/ci/1/api/json").json()
    assert simulated["result"] == "SUCCESS"  # simulated: nothing ran
    runner = JobRunner(bare_emu, tmp_path / "home")
    assert requests.post(bare_emu.url + "job/ci/build").status_code == 201
    assert requests.get(bare_emu.url + "job/ci/api/json").json()["inQueue"] is True
    build = runner.run_next()  # the REST-queued build, run for real
    assert (build.number, build.result) == (2, "FAILURE")
    assert build.causes[0]["shortDescription"] == "Started by user anonymous"


def test_runner_builds_survive_an_emulator_restart_with_a_state_dir(jr, tmp_path) -> None:
    from jjb_envdelivery.testing.jenkins_emulator import JenkinsEmulator

    state = tmp_path / "state"
    with JenkinsEmulator(csrf=False, state_dir=state) as emu:
        jr.put_job(emu, "ci", jr.freestyle(builders=jr.shell("echo hi > a.txt"),
                                           publishers=jr.archive("a.txt")))
        runner = JobRunner(emu, tmp_path / "home")
        runner.schedule("ci")
        runner.run_next()
    with JenkinsEmulator(csrf=False, state_dir=state) as emu:
        info = requests.get(emu.url + "job/ci/1/api/json").json()
        assert info["result"] == "SUCCESS" and info["artifacts"][0]["relativePath"] == "a.txt"
        assert info["actions"][0]["causes"][0]["_class"] == "hudson.model.Cause$UserIdCause"
        assert requests.get(emu.url + "job/ci/1/artifact/a.txt").text == "hi\n"
        assert "+ echo hi" in requests.get(emu.url + "job/ci/1/consoleText").text
