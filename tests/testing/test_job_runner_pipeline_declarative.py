"""The job runner's Declarative Pipeline subset: what it reads, what it refuses, how it runs.

Sources (pipeline-model-definition @ 42c9dc3e unless said otherwise): ModelParser.groovy:
1483-1519 (a composite option argument is an expression evaluated at run time), Messages.
properties (the compile errors: ModelValidatorImpl.RequiredSection, Parser.UndefinedSection,
DuplicateStageName); ModelInterpreter.groovy:421-434 (environment), 629-651 (a stage's post),
713-756 and model/conditions/*.groovy (post conditions, their @Extension ordinals and the
combined result), BuildCondition.java:151-187; when/impl/BranchConditionalScript.groovy,
ChangeRequestConditional.java:221-224, EnvironmentConditional; workflow-basic-steps @ a789b07f
TimeoutStepExecution.java:130-202, 298-300, UnstableStep.java:77-79, ErrorStep.java:67,
WriteFileStep.java:116-123; workflow-cps @ e007b7ff CpsScript.java:128-154 (bare names),
CpsScmFlowDefinition.java:136-202 (the heavyweight script checkout); Groovy's GString, Elvis
and `as` (StringGroovyMethods.asType); core ReverseBuildTrigger.java:272-302.
"""

from __future__ import annotations

import os

import pytest
import requests

from jjb_envdelivery.testing.job_runner import JobRunner, RunnerError
from jjb_envdelivery.testing.job_runner.declarative import (
    CompileError,
    GroovyError,
    Scope,
    evaluate,
    parse,
)
from tests.testing.test_job_runner_pipeline import (
    BRANCH,
    CI,
    CI_URL,
    PACKAGE,
    URL,
    make_runner,
    pipeline,
    project_file,
    push,
    render,
    repository,
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    return render(project_file(tmp_path_factory.mktemp("render") / "billing-api.yaml"))


def _expression(source: str):
    text = ("pipeline {\n    agent any\n    environment {\n        X = " + source + "\n    }\n"
            "    stages {\n        stage('a') {\n            steps {\n                echo 'x'\n"
            "            }\n        }\n    }\n}\n")
    return parse("job", "Jenkinsfile", text).environment[0].value


@pytest.mark.parametrize("source, params, env, expected", [
    ("(params.T ?: '60') as int", {}, {}, 60),  # the contract's timeout, parameter missing
    ("(params.T ?: '60') as int", {"T": ""}, {}, 60),  # '' is false for Elvis
    ("(params.T ?: '60') as int", {"T": " 15"}, {}, 15),  # toInteger trims
    ("params.T.toInteger()", {"T": "7"}, {}, 7),
    ("params.MISSING", {}, {}, None),
    ('"${params.MISSING}"', {}, {}, "null"),
    ('"${params.N ?: \'\'}"', {}, {}, ""),
    ('"$BUILD_NUMBER/${env.JOB_NAME}"', {}, {"BUILD_NUMBER": "4", "JOB_NAME": "a/b"}, "4/a/b"),
    ("'$BUILD_NUMBER'", {}, {"BUILD_NUMBER": "4"}, "$BUILD_NUMBER"),  # no interpolation
    ("'''one\ntwo'''", {}, {}, "one\ntwo"),
    ('"a\\tb\\u0041\\$x\\\\"', {}, {}, "a\tbA$x\\"),
    ("params.FLAG == true && !params.OFF", {"FLAG": True, "OFF": False}, {}, True),
    ("params.A == 'x' || env.B != 'y'", {"A": "z"}, {"B": "y"}, False),
    ("'1' == 1", {}, {}, False),  # a String never equals a number
    ("params.A ? 'yes' : 'no'", {"A": ""}, {}, "no"),
    ("params.A.trim().toUpperCase()", {"A": " ab "}, {}, "AB"),
    ("5 as String", {}, {}, "5"),
    ("params.B.toBoolean()", {"B": "Y"}, {}, True),
])
def test_expressions_evaluate_as_groovy_does(source, params, env, expected) -> None:
    assert evaluate(_expression(source), Scope(params, env)) == expected


@pytest.mark.parametrize("source, params, message", [
    ("params.T as int", {"T": "abc"},
     'java.lang.NumberFormatException: For input string: "abc"'),
    ("params.T as int", {},
     "GroovyCastException: Cannot cast object 'null' with class 'null' to class 'int'"),
    ("UNDEFINED_VAR", {},
     "groovy.lang.MissingPropertyException: No such property: UNDEFINED_VAR"),
    ("params.MISSING.trim()", {},
     "java.lang.NullPointerException: Cannot invoke method trim() on null object"),
])
def test_expression_errors_are_groovy_exceptions_at_run_time(source, params, message) -> None:
    with pytest.raises(GroovyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(_expression(source), Scope(params, {}))


SKELETON = """\
pipeline {
    agent any
    stages {
        stage('a') {
            steps {
                echo 'x'
            }
        }
    }
}
"""


@pytest.mark.parametrize("old, new, line, construct", [
    ("agent any", "agent none", 2, "agent none (stages then need their own agents)"),
    ("agent any", "agent { docker 'maven:3' }", 2, "agent { docker … }"),
    ("agent any", "agent any\n    tools { maven 'm3' }", 3, "the section 'tools'"),
    ("agent any", "agent any\n    parameters { string(name: 'A') }", 3,
     "the section 'parameters'"),
    ("agent any", "agent any\n    options { buildDiscarder(logRotator(numToKeepStr: '5')) }", 3,
     "the option buildDiscarder(…)"),
    ("agent any", "agent any\n    environment { T = credentials('token') }", 3,
     "T = credentials(…) in environment (credentials and other helpers)"),
    ("            steps {", "            parallel {\n                stage('p') { steps { echo 'p' } }"
                         "\n            }\n            steps {", 5, "parallel in a stage"),
    ("                echo 'x'", "                dir('sub') {\n                    sh 'make'\n"
                                 "                }", 6, "the block step dir { … }"),
    ("                echo 'x'", "                script {\n                    def v = [1, 2]"
                                 ".collect { it * 2 }\n                }", 6,
     "the block step script { … }"),
    ("                echo 'x'", "                sleep 5", 6, "the step sleep"),
    ("                echo 'x'", "                sh returnStdout: true, script: 'date'", 6,
     "sh(returnStdout: …)"),
    ("                echo 'x'", "                echo \"${currentBuild.result}\"", 6,
     "the property access ….result"),
    ("                echo 'x'", "                echo \"${params.A.size()}\"", 6,
     "the method call .size(…)"),
    ("                echo 'x'", "                echo params.A + 'b'", 6,
     "the operator '+'"),
    ("                echo 'x'", "                echo 1.5", 6, "the number 1.5"),
    ("            steps {", "            when { tag 'v*' }\n            steps {", 5,
     "the when condition tag"),
    ("    stages {", "    post { changed { echo 'c' } }\n    stages {", 3,
     "the post condition changed"),
])
def test_constructs_outside_the_subset_are_refused_by_file_line_and_construct(
        old, new, line, construct) -> None:
    text = SKELETON.replace(old, new)
    with pytest.raises(RunnerError) as raised:
        parse("team/ci", "ci/Jenkinsfile", text)
    assert str(raised.value).startswith(
        f"team/ci: ci/Jenkinsfile:{line}: {construct}: not implemented by the job runner; the "
        f"runner supports: ")


@pytest.mark.parametrize("text, line, message", [
    ("node {\n    sh 'make'\n}\n", 1, "'node' outside pipeline { } (Scripted Pipeline)"),
    ("@Library('shared') _\n" + SKELETON, 1, "an annotation (@Library, …)"),
])
def test_scripted_pipelines_and_libraries_are_refused(text, line, message) -> None:
    with pytest.raises(RunnerError, match=f"job: Jenkinsfile:{line}: " + message.replace(
            "(", r"\(").replace(")", r"\)").replace("{", r"\{").replace("}", r"\}")):
        parse("job", "Jenkinsfile", text)


@pytest.mark.parametrize("old, new, message", [
    ("    stages {\n        stage('a') {\n            steps {\n                echo 'x'\n"
     "            }\n        }\n    }\n", "", 'Missing required section "stages"'),
    ("agent any", "agent any\n    foo { }", 'Undefined section "foo"'),
    ("        stage('a') {", "        stage('a') { steps { echo 'y' } }\n        stage('a') {",
     'Duplicate stage name: "a"'),
    ("            steps {\n                echo 'x'\n            }", "            echo 'x'",
     'Unknown stage section "echo"'),
    ("echo 'x'", 'echo "\\q"', "not a Groovy string escape"),
    ("echo 'x'", 'echo "costs $5"', "illegal string body character after dollar sign"),
])
def test_what_jenkins_does_not_compile_is_a_compile_error(old, new, message) -> None:
    with pytest.raises(CompileError, match=message):
        parse("job", "Jenkinsfile", SKELETON.replace(old, new))


# --- running the subset ---------------------------------------------------------------------


def _run(jr, emu, rendered, tmp_path, script: str, names=(CI,), ci_edits=None, **runner_args):
    """The CI job with this Jenkinsfile, built once: (runner, the commit, the builds)."""
    repo, sha = repository(jr, tmp_path / "repo", script)
    push(jr, emu, rendered, names=names, ci_edits=ci_edits)
    runner = make_runner(emu, tmp_path, repo, **runner_args)
    runner.repo = repo
    runner.schedule(CI)
    return runner, sha, runner.run_queue()


FAILING_REPORT = ("mkdir -p reports && printf '<testsuite><testcase name=\"a\"/><testcase "
                  "name=\"b\"><failure/></testcase></testsuite>' > reports/t.xml")


def test_failed_tests_make_the_build_unstable_and_post_conditions_run_in_their_order(
        jr, bare_emu, rendered, tmp_path) -> None:
    script = pipeline(
        f"Test: sh '''{FAILING_REPORT}'''\n                junit 'reports/*.xml'",
        "After: echo 'stages go on after UNSTABLE'",
        post="cleanup { echo 'post: cleanup' }\n        failure { echo 'post: failure' }\n"
             "        unstable { echo 'post: unstable' }\n        success { echo 'post: success' }\n"
             "        unsuccessful { echo 'post: unsuccessful' }\n        always { echo 'post: always' }")
    _, _, builds = _run(jr, bare_emu, rendered, tmp_path, script, names=(CI, PACKAGE))
    assert [(b.job, b.result) for b in builds] == [(CI, "UNSTABLE")]  # the package job wants SUCCESS
    console = builds[0].console
    assert "stages go on after UNSTABLE" in console
    shown = [line for line in console.splitlines() if line.startswith("post: ")]
    # BuildCondition ordinals: always 1000, success 700, unsuccessful 650, unstable 600,
    # failure 500, cleanup -10000
    assert shown == ["post: always", "post: unsuccessful", "post: unstable", "post: cleanup"]
    tests = next(a for a in requests.get(bare_emu.url + CI_URL + "1/api/json").json()["actions"]
                 if a.get("_class") == "hudson.tasks.junit.TestResultAction")
    assert (tests["totalCount"], tests["failCount"]) == (2, 1)
    assert console.endswith("[Pipeline] End of Pipeline\nFinished: UNSTABLE\n")


def test_a_stage_post_sees_its_own_result_and_a_failing_post_step_fails_the_build(
        jr, bare_emu, rendered, tmp_path) -> None:
    script = """\
pipeline {
    agent any
    stages {
        stage('Flaky') {
            steps {
                unstable 'flaky test'
            }
            post {
                unstable { echo 'stage post: unstable' }
                success { echo 'stage post: success' }
            }
        }
    }
    post {
        always { sh 'exit 4' }
        failure { echo 'root post: failure' }
    }
}
"""
    _, _, (build,) = _run(jr, bare_emu, rendered, tmp_path, script)
    assert "WARNING: flaky test\n" in build.console
    assert "Post stage\n[Pipeline] echo\nstage post: unstable\n" in build.console
    assert "stage post: success" not in build.console
    assert ("Error when executing always post condition:\nhudson.AbortException: script "
            "returned exit code 4\n") in build.console
    assert "root post: failure" in build.console  # the error counts for the later conditions
    assert build.result == "FAILURE"
    assert build.console.endswith("ERROR: script returned exit code 4\nFinished: FAILURE\n")


def test_when_conditions(jr, bare_emu, rendered, tmp_path) -> None:
    def stage(name: str, when: str) -> str:
        return (f"        stage('{name}') {{\n            when {{ {when} }}\n            steps "
                f"{{ echo 'ran {name}' }}\n        }}\n")
    script = ("pipeline {\n    agent any\n    stages {\n"
              + stage("expression", "expression { return params.ENVDELIVERY_RELEASE == 'current' }")
              + stage("expression-false", "expression { params.NOT_A_PARAMETER }")
              + stage("branch", "branch 'release/*'")  # no BRANCH_NAME in a Pipeline job
              + stage("not-a-change-request", "not { changeRequest() }")
              + stage("environment", "environment name: 'ENVDELIVERY_RELEASE', value: 'CURRENT', "
                                     "ignoreCase: true")
              + stage("allOf", "allOf { expression { true }; not { expression { false } } }")
              + stage("anyOf", "anyOf { branch 'main'; expression { env.JOB_NAME } }")
              + stage("beforeAgent", "beforeAgent true; expression { false }")
              + "    }\n}\n")
    _, _, (build,) = _run(jr, bare_emu, rendered, tmp_path, script)
    assert build.result == "SUCCESS", build.console
    ran = [line[4:] for line in build.console.splitlines() if line.startswith("ran ")]
    assert ran == ["expression", "not-a-change-request", "environment", "allOf", "anyOf"]
    for skipped in ("expression-false", "branch", "beforeAgent"):
        assert f'Stage "{skipped}" skipped due to when conditional' in build.console


def test_environment_directives_and_string_interpolation(jr, bare_emu, rendered,
                                                         tmp_path) -> None:
    script = """\
pipeline {
    agent any
    environment {
        A = 'one'
        B = "${env.A}-two-$BUILD_NUMBER"
        SINGLE = '$A stays'
    }
    stages {
        stage('Show') {
            environment { C = "${B}!" }
            steps {
                sh 'echo "A=$A B=$B C=$C SINGLE=$SINGLE"'
                echo "groovy sees ${env.C} at ${GIT_COMMIT}"
            }
        }
    }
}
"""
    _, sha, (build,) = _run(jr, bare_emu, rendered, tmp_path, script)
    assert build.result == "SUCCESS", build.console
    assert "A=one B=one-two-1 C=one-two-1! SINGLE=$A stays\n" in build.console
    assert f"groovy sees one-two-1! at {sha}\n" in build.console  # the checkout's variables


def test_a_timeout_aborts_the_build_and_post_aborted_runs(jr, bare_emu, rendered,
                                                          tmp_path) -> None:
    script = pipeline("Slow: sh 'sleep 20'", "Never: echo 'not reached'",
                      options="timeout(time: 1, unit: 'MINUTES')",
                      post="aborted { echo 'post: aborted' }\n        failure { echo 'post: failure' }")
    _, _, (build,) = _run(jr, bare_emu, rendered, tmp_path, script, minute=0.3)
    assert build.result == "ABORTED"
    assert build.duration < 10
    console = build.console
    assert "Timeout set to expire in 1 min 0 sec\n" in console
    assert "Cancelling nested steps due to timeout\n" in console
    assert 'Stage "Never" skipped due to earlier failure(s)' in console
    assert "post: aborted" in console and "post: failure" not in console
    assert console.endswith("[Pipeline] End of Pipeline\nTimeout has been exceeded\n"
                            "Finished: ABORTED\n")


def test_write_file_and_error_steps(jr, bare_emu, rendered, tmp_path) -> None:
    script = pipeline(
        "Write: writeFile file: 'out/n.txt', text: \"build ${env.BUILD_NUMBER}\\n\"\n"
        "                sh 'cat out/n.txt'\n"
        "                archiveArtifacts artifacts: 'out/*.txt', fingerprint: true",
        "Stop: error 'stopped on purpose'",
        options="disableConcurrentBuilds()\n        timestamps()")
    _, _, (build,) = _run(jr, bare_emu, rendered, tmp_path, script)
    assert "+ cat out/n.txt\nbuild 1\n" in build.console
    assert build.artifacts == ["out/n.txt"]
    assert build.result == "FAILURE"
    assert build.console.endswith("ERROR: stopped on purpose\nFinished: FAILURE\n")


def test_a_missing_property_fails_the_build_with_the_groovy_exception(jr, bare_emu, rendered,
                                                                      tmp_path) -> None:
    _, _, (build,) = _run(jr, bare_emu, rendered, tmp_path,
                       pipeline("a: echo \"value: ${NO_SUCH_VARIABLE}\""))
    assert build.result == "FAILURE"
    assert build.console.endswith("[Pipeline] End of Pipeline\ngroovy.lang.MissingProperty"
                                  "Exception: No such property: NO_SUCH_VARIABLE for class: "
                                  "groovy.lang.Binding\nFinished: FAILURE\n")


def test_post_runs_outside_the_node_when_the_agent_could_not_run(jr, bare_emu, rendered,
                                                                 tmp_path) -> None:
    script = pipeline("a: echo 'never'", agent="{ label \"${params.NO_SUCH.trim()}\" }",
                      post="always {\n            echo 'post without a node'\n"
                           "            sh 'true'\n        }")
    _, _, (build,) = _run(jr, bare_emu, rendered, tmp_path, script)
    assert build.result == "FAILURE"
    console = build.console
    assert "[Pipeline] node" not in console and "never" not in console
    assert "post without a node\n" in console
    assert ("Error when executing always post condition:\norg.jenkinsci.plugins.workflow.steps."
            "MissingContextVariableException: Required context class hudson.FilePath is "
            "missing") in console
    assert console.endswith("java.lang.NullPointerException: Cannot invoke method trim() on "
                            "null object\nFinished: FAILURE\n")


def test_a_heavyweight_script_checkout_is_a_checkout_of_the_build(jr, bare_emu, rendered,
                                                                  tmp_path) -> None:
    script = pipeline("a: echo 'ran'", options="skipDefaultCheckout()")
    runner, _, (build,) = _run(jr, bare_emu, rendered, tmp_path, script, ci_edits={
        "<lightweight>true</lightweight>": "<lightweight>false</lightweight>"})
    assert build.result == "SUCCESS", build.console
    # on the controller (the built-in node): CpsScmFlowDefinition.java:143-149
    script_dir = tmp_path / "home/agents/built-in/workspace/payments/billing-api-current-ci@script"
    assert f"Checking out git {URL} into {script_dir}/" in build.console
    assert build.console.index("to read ci/Jenkinsfile\n") < build.console.index("[Pipeline] Start")
    assert "Lightweight checkout support not available" not in build.console
    # it recorded a checkout, so polling has something to compare (unlike the lightweight read)
    info = requests.get(bare_emu.url + CI_URL + "1/api/json").json()
    assert any(a.get("_class") == "hudson.plugins.git.util.BuildData" for a in info["actions"])
    assert runner.poll(CI) is False
    runner.repo.commit({"app.txt": "v2\n"}, branch=BRANCH)
    assert runner.poll(CI) is True


def test_a_branch_spec_git_cannot_read_lightly_falls_back_to_a_full_checkout(
        jr, bare_emu, rendered, tmp_path) -> None:
    _, _, (build,) = _run(jr, bare_emu, rendered, tmp_path, pipeline("a: echo 'ran'"), ci_edits={
        f"<name>refs/heads/{BRANCH}</name>": "<name>*/release/*</name>"})
    assert build.result == "SUCCESS", build.console
    assert build.console.startswith("Started by user anonymous\nLightweight checkout support not "
                                    "available, falling back to full checkout.\nChecking out git ")


def test_an_inline_script_and_a_freestyle_upstream_of_a_pipeline_job(jr, bare_emu,
                                                                    tmp_path) -> None:
    script = pipeline("a: echo \"upstream said ${env.BUILD_NUMBER}\"\n                checkout scm")
    pipe = ('<flow-definition plugin="workflow-job"><actions/><description/>'
            "<keepDependencies>false</keepDependencies><properties>"
            "<org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty><triggers>"
            + jr.reverse_trigger("up") +
            "</triggers></org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty>"
            '</properties><definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" '
            f'plugin="workflow-cps"><script>{jr.esc(script)}</script><sandbox>true</sandbox>'
            "</definition><triggers/><disabled>false</disabled></flow-definition>")
    jr.put_job(bare_emu, "up", jr.freestyle(builders=jr.shell("true")))
    jr.put_job(bare_emu, "pipe", pipe)
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("up")
    up, down = runner.run_queue()
    # a freestyle upstream, a Pipeline downstream: ReverseBuildTrigger's RunListener
    assert up.console.endswith("Triggering a new build of pipe #1\nFinished: SUCCESS\n")
    assert down.job == "pipe" and down.causes[0]["upstreamProject"] == "up"
    assert "Obtained" not in down.console and "Checkout SCM" not in down.console
    assert "upstream said 1" in down.console
    assert down.result == "FAILURE"  # an inline script has no `scm`
    assert "groovy.lang.MissingPropertyException: No such property: scm" in down.console
    with pytest.raises(RunnerError, match="pipe: definition\\[CpsFlowDefinition\\]/sandbox false"):
        jr.put_job(bare_emu, "pipe", pipe.replace("<sandbox>true", "<sandbox>false"))
        runner.schedule("pipe")
        runner.run_next()


PUBLISH = """\
pipeline {
    agent any
    stages {
        stage('Build') {
            steps {
                echo 'built'
            }
        }
        stage('Publish') {
            // a pull request build runs the proposed code: no credentials for it
            when { not { changeRequest() } }
            steps {
                withCredentials([string(credentialsId: 'payments-registry-token', variable: 'TOKEN'),
                                 usernamePassword(credentialsId: 'payments-registry',
                                                  usernameVariable: 'REGISTRY_USER',
                                                  passwordVariable: 'REGISTRY_PASSWORD')]) {
                    sh 'echo "publishing as $REGISTRY_USER with $TOKEN and $REGISTRY_PASSWORD"'
                }
            }
        }
    }
}
"""


def test_credentials_are_bound_only_where_change_requests_do_not_reach(
        jr, bare_emu, rendered, tmp_path) -> None:
    """The README's rule for pull requests: changeRequest() is true when CHANGE_ID is set
    (multibranch pull requests; here the agent's environment stands in for it)."""
    creds = tmp_path / "credentials.yaml"
    creds.write_text("credentials:\n"
                     "- {id: payments-registry-token, type: string, secret: s3cr3t-t0ken, "
                     "folder: payments}\n"
                     "- {id: payments-registry, type: usernamePassword, username: ci-bot, "
                     "password: pa55word, username-secret: false}\n")
    runner, _, (build,) = _run(jr, bare_emu, rendered, tmp_path, PUBLISH, credentials=creds)
    assert build.result == "SUCCESS", build.console
    assert ("[Pipeline] withCredentials\nMasking supported pattern matches of $TOKEN or "
            "$REGISTRY_PASSWORD\n[Pipeline] {\n") in build.console
    assert "publishing as ci-bot with **** and ****\n" in build.console
    assert "s3cr3t-t0ken" not in build.console and "pa55word" not in build.console
    assert not list((tmp_path / "home/agents").rglob("secretFiles/*/*"))

    runner.agent_env = {**os.environ, "CHANGE_ID": "42"}
    runner.schedule(CI)
    (pull_request,) = runner.run_queue()
    assert pull_request.result == "SUCCESS"
    assert 'Stage "Publish" skipped due to when conditional' in pull_request.console
    assert "withCredentials" not in pull_request.console
