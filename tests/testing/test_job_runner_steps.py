"""Build steps, wrappers and publishers in the job runner, and what it refuses.

Sources: core Shell.java:84-135 and CommandInterpreter.java:108-203 (script, ``sh -xe``, ``#!``,
unstableReturn), Build.java:127-210 and AbstractBuild.java:760-850 (builders stop at the first
failure, publishers all run, the step messages), Run.java:2405-2433, Job.java:398-405,
CoreEnvironmentContributor.java:26-69 (environment); build-timeout @ 79b2549c
BuildTimeoutWrapper.java:46, 133-137 and impl/AbsoluteTimeOutStrategy.java:36-44, operations/
AbortOperation.java:56-70 (the message); junit @ c64aedde JUnitResultArchiver.java:191-196,
264-321; core LogRotator.java:155-245; ws-cleanup PreBuildCleanup.java:84-135.
"""

from __future__ import annotations

import time

import pytest
import requests

from jjb_envdelivery.testing.job_runner import JobRunner, RunnerError

TIMEOUT = "hudson.plugins.build__timeout."


def _run(jr, emu, tmp_path, config: str, **runner_args):
    jr.put_job(emu, "job", config)
    runner = JobRunner(emu, tmp_path / "home", **runner_args)
    runner.schedule("job")
    return runner, runner.run_next()


def test_shell_runs_under_sh_xe_and_stops_at_the_first_failing_command(jr, bare_emu,
                                                                       tmp_path) -> None:
    _, build = _run(jr, bare_emu, tmp_path, jr.freestyle(
        builders=jr.shell("echo one\nfalse\necho never") + jr.shell("touch second-step"),
        publishers=jr.archive("*.txt", allowEmptyArchive="true")))
    assert build.result == "FAILURE"
    assert "+ echo one\none\n+ false\n" in build.console and "never" not in build.console
    assert "Build step 'Execute shell' marked build as failure" in build.console
    assert not (build.workspace / "second-step").exists()  # the next builder does not run
    assert "Archiving artifacts" in build.console  # publishers still run
    assert build.console.endswith("Finished: FAILURE\n")


def test_an_interpreter_line_replaces_sh(jr, bare_emu, tmp_path) -> None:
    _, build = _run(jr, bare_emu, tmp_path, jr.freestyle(builders=jr.shell(
        "#!/usr/bin/env python3\nimport os\nprint('python', os.environ['JOB_NAME'])")))
    assert build.result == "SUCCESS" and "python job" in build.console


def test_the_environment_jenkins_sets(jr, bare_emu, tmp_path) -> None:
    names = ("WORKSPACE BUILD_NUMBER BUILD_ID BUILD_DISPLAY_NAME BUILD_TAG JOB_NAME JOB_BASE_NAME "
             "JOB_URL BUILD_URL JENKINS_URL NODE_NAME NODE_LABELS EXECUTOR_NUMBER CI").split()
    jr.put_job(bare_emu, "team/svc-ci", jr.freestyle(builders=jr.shell(
        "".join(f'echo "{n}=${n}"\n' for n in names))))
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("team/svc-ci")
    console = runner.run_next().console
    url = bare_emu.url
    for expected in (f"WORKSPACE={tmp_path / 'home' / 'workspace' / 'team' / 'svc-ci'}",
                     "BUILD_NUMBER=1", "BUILD_ID=1", "BUILD_DISPLAY_NAME=#1",
                     "BUILD_TAG=jenkins-team-svc-ci-1", "JOB_NAME=team/svc-ci",
                     "JOB_BASE_NAME=svc-ci", f"JOB_URL={url}job/team/job/svc-ci/",
                     f"BUILD_URL={url}job/team/job/svc-ci/1/", f"JENKINS_URL={url}",
                     "NODE_NAME=built-in", "NODE_LABELS=built-in", "EXECUTOR_NUMBER=0", "CI=true"):
        assert f"\n{expected}\n" in console


@pytest.mark.parametrize("section, element", [
    ("builders", "hudson.tasks.Maven"),
    ("publishers", "hudson.plugins.parameterizedtrigger.BuildTrigger"),
    ("buildWrappers", "hudson.plugins.ansicolor.AnsiColorBuildWrapper"),
    ("triggers", "com.cloudbees.jenkins.GitHubPushTrigger"),
    ("properties", "hudson.security.AuthorizationMatrixProperty"),
])
def test_an_unimplemented_component_is_refused_by_its_element_before_anything_runs(
        jr, bare_emu, tmp_path, section: str, element: str) -> None:
    config = jr.freestyle(builders=jr.shell("touch ran"))
    config = config.replace(f"</{section}>", f"<{element}/></{section}>")
    jr.put_job(bare_emu, "job", config)
    runner = JobRunner(bare_emu, tmp_path / "home")
    if section == "properties":  # scheduling already reads the parameter definitions
        with pytest.raises(RunnerError, match=f"job: {section}/{element}: .*not implemented"):
            runner.schedule("job")
        return
    runner.schedule("job")
    with pytest.raises(RunnerError, match=f"job: {section}/{element}: .*not implemented"):
        runner.run_next()
    assert bare_emu.state.find("job").builds == [] and runner.builds == []
    assert not (tmp_path / "home" / "workspace" / "job").exists()
    assert runner.run_next() is None


def test_other_job_types_and_scms_are_refused(jr, bare_emu, tmp_path) -> None:
    jr.put_job(bare_emu, "pipe", "<flow-definition><keepDependencies>false</keepDependencies>"
                                 "<properties/><triggers/></flow-definition>")
    jr.put_job(bare_emu, "matrix", "<matrix-project><properties/></matrix-project>")
    jr.put_job(bare_emu, "svn", jr.freestyle(scm='<scm class="hudson.scm.SubversionSCM"/>'))
    runner = JobRunner(bare_emu, tmp_path / "home")
    for job in ("pipe", "matrix", "svn"):
        runner.schedule(job)
    # A Pipeline job without a script: Jenkins would fail its build at once (WorkflowRun.java:336-339).
    with pytest.raises(RunnerError, match='pipe: <flow-definition>: no <definition>: .*"No flow definition'):
        runner.run_next()
    with pytest.raises(RunnerError, match=r"matrix: <matrix-project>: .*freestyle jobs \(<project>\) and Pipeline"):
        runner.run_next()
    with pytest.raises(RunnerError, match="svn: scm class='hudson.scm.SubversionSCM'"):
        runner.run_next()


def _timeout(operations: str, minutes: str = "3") -> str:
    return (f"<{TIMEOUT}BuildTimeoutWrapper plugin=\"build-timeout\"><strategy class=\"hudson."
            f"plugins.build_timeout.impl.AbsoluteTimeOutStrategy\"><timeoutMinutes>{minutes}"
            f"</timeoutMinutes></strategy><operationList>{operations}</operationList>"
            f"<timeoutEnvVar>LIMIT_MS</timeoutEnvVar></{TIMEOUT}BuildTimeoutWrapper>")


@pytest.mark.parametrize("operations, result, shown", [
    ("", "ABORTED", "aborted"),  # an empty list aborts (BuildTimeoutWrapper.java:133-137)
    (f"<{TIMEOUT}operations.AbortOperation/>", "ABORTED", "aborted"),
    (f"<{TIMEOUT}operations.FailOperation/>", "FAILURE", "failed"),
])
def test_build_timeout_kills_the_step_and_sets_the_result(jr, bare_emu, tmp_path, operations,
                                                          result, shown) -> None:
    marker = tmp_path / "child-survived"
    started = time.monotonic()
    # "1" minute is clamped to 3 (AbsoluteTimeOutStrategy.java:36-44): 3 × 0.1 s
    _, build = _run(jr, bare_emu, tmp_path, jr.freestyle(
        wrappers=_timeout(operations, minutes="1"),
        builders=jr.shell(f'echo "limit $LIMIT_MS"\n(sleep 1; touch {marker}) &\nsleep 30'),
        publishers=jr.archive("*.none", allowEmptyArchive="true")), minute=0.1)
    assert time.monotonic() - started < 10
    assert build.result == result
    assert "limit 180000" in build.console
    assert f"Build timed out (after 3 minutes). Marking the build as {shown}." in build.console
    assert "Build was aborted" in build.console
    assert "Archiving artifacts" in build.console  # publishers run after an interruption
    if result == "FAILURE":  # once is enough: the background child died with its group
        time.sleep(1.5)
        assert not marker.exists()


def test_a_build_within_its_timeout_succeeds(jr, bare_emu, tmp_path) -> None:
    _, build = _run(jr, bare_emu, tmp_path, jr.freestyle(
        wrappers=_timeout(""), builders=jr.shell("sleep 0.2")), minute=0.2)
    assert build.result == "SUCCESS"


def test_junit_failures_make_the_build_unstable_and_no_report_fails_it(jr, bare_emu,
                                                                       tmp_path) -> None:
    report = ('<testsuite name="s"><testcase name="ok"/><testcase name="bad"><failure '
              'message="x"/></testcase><testcase name="skip"><skipped/></testcase></testsuite>')
    junit = ("<hudson.tasks.junit.JUnitResultArchiver plugin=\"junit\"><testResults>{}"
             "</testResults><keepLongStdio>true</keepLongStdio><allowEmptyResults>false"
             "</allowEmptyResults></hudson.tasks.junit.JUnitResultArchiver>")
    jr.put_job(bare_emu, "tests", jr.freestyle(
        builders=jr.shell(f"mkdir -p reports && echo '{report}' > reports/unit.xml"),
        publishers=junit.format("reports/*.xml")))
    jr.put_job(bare_emu, "no-report", jr.freestyle(publishers=junit.format("reports/*.xml")))
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("tests")
    runner.schedule("no-report")
    tests, no_report = runner.run_queue()
    assert tests.result == "UNSTABLE"
    assert "Build step 'Publish JUnit test result report' changed build result to UNSTABLE" \
        in tests.console
    counts = requests.get(bare_emu.url + "job/tests/1/api/json").json()["actions"][1]
    assert counts == {"_class": "hudson.tasks.junit.TestResultAction", "failCount": 1,
                      "skipCount": 1, "totalCount": 3, "urlName": "testReport"}
    assert no_report.result == "FAILURE"
    assert ("ERROR: Step ‘Publish JUnit test result report’ failed: No test report files were "
            "found. Configuration error?") in no_report.console


def test_log_rotation_keeps_the_last_successful_build(jr, bare_emu, tmp_path) -> None:
    rotator = ("<jenkins.model.BuildDiscarderProperty><strategy class=\"hudson.tasks.LogRotator\">"
               "<daysToKeep>-1</daysToKeep><numToKeep>2</numToKeep><artifactDaysToKeep>-1"
               "</artifactDaysToKeep><artifactNumToKeep>1</artifactNumToKeep></strategy>"
               "</jenkins.model.BuildDiscarderProperty>")
    jr.put_job(bare_emu, "job", jr.freestyle(
        properties=rotator, builders=jr.shell('touch a.txt && test "$BUILD_NUMBER" = 1'),
        publishers=jr.archive("a.txt")))
    runner = JobRunner(bare_emu, tmp_path / "home")
    for _ in range(4):
        runner.schedule("job")
        runner.run_next()
    builds = {b.number: b for b in bare_emu.state.find("job").builds}
    # #1 is the last successful and the last stable build: kept, with its artifacts
    assert sorted(builds) == [1, 3, 4]
    assert builds[1].artifacts == ["a.txt"]
    assert builds[3].artifacts == [] and builds[4].artifacts == ["a.txt"]
    assert not (tmp_path / "home" / "jobs" / "job" / "builds" / "2").exists()
    assert requests.get(bare_emu.url + "job/job/2/api/json").status_code == 404


def test_pre_build_cleanup_deletes_the_workspace_first(jr, bare_emu, tmp_path) -> None:
    cleanup = ('<hudson.plugins.ws__cleanup.PreBuildCleanup plugin="ws-cleanup"><deleteDirs>'
               "false</deleteDirs><cleanupParameter/><externalDelete/>"
               "</hudson.plugins.ws__cleanup.PreBuildCleanup>")
    jr.put_job(bare_emu, "job", jr.freestyle(
        wrappers=cleanup, builders=jr.shell("test ! -e leftover && touch leftover")))
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("job")
    runner.run_next()
    runner.schedule("job")
    second = runner.run_next()
    assert second.result == "SUCCESS"
    assert "[WS-CLEANUP] Deleting project workspace..." in second.console


def test_timer_trigger_and_fingerprinter(jr, bare_emu, tmp_path) -> None:
    jr.put_job(bare_emu, "nightly", jr.freestyle(
        triggers="<hudson.triggers.TimerTrigger><spec>H H(0-5) * * *</spec>"
                 "</hudson.triggers.TimerTrigger>",
        builders=jr.shell("echo data > out.bin"),
        publishers="<hudson.tasks.Fingerprinter><targets>*.bin</targets>"
                   "</hudson.tasks.Fingerprinter>"))
    jr.put_job(bare_emu, "manual", jr.freestyle())
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.fire_timer("nightly")
    build = runner.run_next()
    assert build.causes == [{"_class": "hudson.triggers.TimerTrigger$TimerTriggerCause",
                             "shortDescription": "Started by timer"}]
    assert "Recording fingerprints" in build.console
    assert '"fileName": "out.bin"' in (tmp_path / "home" / "fingerprints.json").read_text()
    with pytest.raises(RunnerError, match="manual: triggers/hudson.triggers.TimerTrigger"):
        runner.fire_timer("manual")
