"""Pipeline jobs in the job runner, end to end: the Pipeline CI job rendered from the shipped
template job-templates/envdelivery-pipeline-ci.yaml (group envdelivery-pipeline-service), its
Jenkinsfile read from a local git repository, the platform's freestyle package and deliver jobs
after it.

Sources: workflow-cps @ e007b7ff CpsScmFlowDefinition.java:110-135 (the lightweight read,
"Obtained …", "Unable to find … from git …"); workflow-job @ cef6baef WorkflowJob.java:621-705
(polling: no build → build now unless queued; else the checkouts of the last successful build),
WorkflowRun.java:714-760 (the end of a build); core ReverseBuildTrigger.java:272-302 (a
Pipeline upstream's downstream builds: "Triggering a new build of <job> #<n>");
pipeline-model-definition @ 42c9dc3e ModelInterpreter.groovy:61-129, 153-193, 692-756 and
model/Messages.properties:25 (stages after a failure are skipped, post runs);
workflow-durable-task-step DurableTaskStep.java:689 ("script returned exit code N").
The helpers here are shared by the other test_job_runner_pipeline*.py modules.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from jjb_envdelivery.data_dirs import shipped_templates_dir
from jjb_envdelivery.jjb.pipeline import generate_xml, make_jjb_config
from jjb_envdelivery.testing.job_runner import JobRunner, RunnerError

URL = "https://git.example.com/payments/billing-api.git"
BRANCH = "release/2026.11"
CI, PACKAGE, DELIVER = (f"payments/billing-api-current-{s}" for s in ("ci", "package", "deliver"))
CI_URL = "job/payments/job/billing-api-current-ci/"
AGENTS = {"built-in": [], "linux-1": ["linux"]}
SHELL_EXAMPLE = Path(__file__).resolve().parents[2] / "examples/jenkinsfiles/shell/Jenkinsfile"
MAKEFILE = ("build:\n\tmkdir -p dist/bin\n\tprintf '#!/bin/sh\\necho billing-api\\n' > "
            "dist/bin/billing-api\n\tchmod 755 dist/bin/billing-api\n"
            "test:\n\tmkdir -p reports\n\tprintf '<testsuite><testcase name=\"ok\"/>"
            "</testsuite>\\n' > reports/unit.xml\n")


def project_file(path: Path, **project: object) -> Path:
    """One service on one release line, in the envdelivery-pipeline-service group (as
    tests/job_templates/fixtures/pipeline-service.yaml, with a deb of the whole CI output)."""
    data = [
        {"defaults": {"name": "envdelivery", "job-prefix": "payments/",
                      "envdelivery-project": "payments", "envdelivery-copiers": "/delivery/*",
                      "build-timeout": 60, "jobs-disabled": False,
                      "release": [{"current": {"branch": BRANCH}}]}},
        {"project": {"name": "billing-api", "service": "billing-api", "git-url": URL,
                     "git-credential-id": "payments-git", "jenkinsfile": "ci/Jenkinsfile",
                     "node": "linux", "package": "deb", "deb-install-dir": "/opt/billing-api",
                     "deliver-registry": "none", "deliver-host": "none",
                     "jobs": ["envdelivery-pipeline-service"], **project}},
    ]
    path.write_text(yaml.safe_dump(data))
    return path


def render(path: Path) -> dict[str, str]:
    scope = generate_xml(make_jjb_config(), [shipped_templates_dir(), path])
    return {job.name: job.output().decode() for job in scope.jobs}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    """The three jobs, rendered once per module (JJB takes about a second)."""
    return render(project_file(tmp_path_factory.mktemp("render") / "billing-api.yaml"))


def push(jr, emu, jobs: dict[str, str], names: tuple[str, ...] = (CI,),
         ci_edits: dict[str, str] | None = None) -> None:
    """Store the named jobs (by default the CI job alone) in the emulator; ``ci_edits``
    replaces texts in the CI job's XML."""
    for name, xml in jobs.items():
        if name not in names:
            continue
        if name == CI:
            for old, new in (ci_edits or {}).items():
                assert old in xml, old
                xml = xml.replace(old, new)
        jr.put_job(emu, name, xml)


def repository(jr, path: Path, jenkinsfile: str | None, files: dict[str, str] | None = None,
               script_path: str = "ci/Jenkinsfile") -> tuple[object, str]:
    """A service repository: a first commit on main, the release branch with the Jenkinsfile."""
    repo = jr.GitRepo(path)
    repo.commit({"README.md": "billing-api\n"}, message="init")
    content = dict(files or {})
    if jenkinsfile is not None:
        content[script_path] = jenkinsfile
    sha = repo.commit(content or {"src/.keep": ""}, message="release line", branch=BRANCH)
    return repo, sha


def make_runner(emu, tmp_path: Path, repo, **kwargs) -> JobRunner:
    return JobRunner(emu, tmp_path / "home", remotes={URL: repo.path}, agents=AGENTS, **kwargs)


def pipeline(*stages: str, post: str = "", options: str = "", agent: str = "any",
             environment: str = "") -> str:
    """A small Declarative Jenkinsfile: ``stages`` are ``name: steps`` texts."""
    body = "".join(f"        stage('{s.split(':', 1)[0]}') {{\n            steps {{\n"
                   f"                {s.split(':', 1)[1].strip()}\n            }}\n        }}\n"
                   for s in stages)
    parts = [f"    agent {agent}\n"]
    if options:
        parts.append(f"    options {{\n        {options}\n    }}\n")
    if environment:
        parts.append(f"    environment {{\n        {environment}\n    }}\n")
    parts.append(f"    stages {{\n{body}    }}\n")
    if post:
        parts.append(f"    post {{\n        {post}\n    }}\n")
    return "pipeline {\n" + "".join(parts) + "}\n"


# --- the contract, end to end ------------------------------------------------------------------


def test_the_ci_pipeline_builds_archives_fingerprints_and_the_package_job_packages_it(
        jr, bare_emu, rendered, tmp_path, require_commands) -> None:
    require_commands("git", "make", "dpkg-deb")
    repo, sha = repository(jr, tmp_path / "repo", SHELL_EXAMPLE.read_text(), {"Makefile": MAKEFILE})
    push(jr, bare_emu, rendered, names=(CI, PACKAGE, DELIVER))
    runner = make_runner(bare_emu, tmp_path, repo)
    assert runner.poll(CI) is True  # never built: build now
    ci, package, deliver = runner.run_queue()
    assert [(b.job, b.number, b.result) for b in (ci, package, deliver)] == \
        [(CI, 1, "SUCCESS"), (PACKAGE, 1, "SUCCESS"), (DELIVER, 1, "SUCCESS")], ci.console

    # the CI build: the script read from the release branch's head, the agent its label names
    assert ci.console.startswith("Started by an SCM change\nObtained ci/Jenkinsfile from git "
                                 f"{URL}\n[Pipeline] Start of Pipeline\n")
    assert "Running as SYSTEM" not in ci.console
    assert ci.node == "linux-1"  # label "${params.ENVDELIVERY_NODE ?: ''}", the default 'linux'
    assert f"Running on linux-1 in {ci.workspace}\n" in ci.console
    assert f"Checking out Revision {sha} (refs/remotes/origin/{BRANCH})" in ci.console
    assert "Timeout set to expire in 1 hr 0 min" in ci.console  # ENVDELIVERY_BUILD_TIMEOUT 60
    assert "[Pipeline] sh\n+ make build\n" in ci.console
    assert ci.artifacts == ["dist/bin/billing-api", "envdelivery-ci.properties"]
    assert ci.console.endswith("[Pipeline] End of Pipeline\nTriggering a new build of payments » "
                               "billing-api-current-package #1\nFinished: SUCCESS\n")
    archive = tmp_path / "home/jobs/payments/billing-api-current-ci/builds/1/archive"
    assert (archive / "envdelivery-ci.properties").read_text() == (
        f"ENVDELIVERY_CI_BUILD=1\nENVDELIVERY_GIT_COMMIT={sha}\nENVDELIVERY_RELEASE=current\n"
        f"ENVDELIVERY_BRANCH={BRANCH}\n")  # an SCM-triggered build gets the defaults

    # what api/json says of it
    info = requests.get(bare_emu.url + CI_URL + "1/api/json").json()
    assert info["_class"] == "org.jenkinsci.plugins.workflow.job.WorkflowRun"
    assert info["result"] == "SUCCESS"
    # A WorkflowRun exports changeSets, not AbstractBuild's builtOn and changeSet
    # (workflow-job WorkflowRun.java:942-943, 982-984).
    assert "changeSets" in info and "builtOn" not in info and "changeSet" not in info
    assert [a["relativePath"] for a in info["artifacts"]] == ci.artifacts
    data = next(a for a in info["actions"] if a.get("_class") == "hudson.plugins.git.util.BuildData")
    assert data["lastBuiltRevision"]["SHA1"] == sha
    values = {p["name"]: p["value"] for p in next(
        a for a in info["actions"] if a.get("_class") == "hudson.model.ParametersAction")["parameters"]}
    assert values["ENVDELIVERY_NODE"] == "linux" and values["ENVDELIVERY_RELEASE"] == "current"

    # fingerprints: produced by the CI build, used by the package build that copied them
    prints = json.loads((tmp_path / "home/fingerprints.json").read_text())
    binary = next(v for v in prints.values() if v["fileName"] == "billing-api")
    assert binary["original"] == {"job": CI, "number": 1}
    assert binary["usages"] == {CI: [1], PACKAGE: [1]}

    # the freestyle package job: triggered by the Pipeline build, copies and reads its output
    assert package.causes[0]["upstreamProject"] == CI and package.causes[0]["upstreamBuild"] == 1
    assert 'Copied 2 artifacts from "payments » billing-api-current-ci" build number 1' \
        in package.console
    version = f"1-g{sha[:7]}"
    assert f"ENVDELIVERY_VERSION={version}\n" in package.console
    deb = tmp_path / f"home/jobs/payments/billing-api-current-package/builds/1/archive/package/" \
                     f"billing-api_{version}_all.deb"
    contents = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                              check=True).stdout
    assert "./opt/billing-api/dist/bin/billing-api" in contents
    assert "envdelivery-ci.properties" not in contents


def test_a_failing_sh_fails_the_build_skips_later_stages_runs_post_failure_and_triggers_nothing(
        jr, bare_emu, rendered, tmp_path) -> None:
    script = pipeline("Build: sh 'echo building; exit 3'", "Later: echo 'never'",
                      post="always { echo 'post always ran' }\n"
                           "        success { archiveArtifacts artifacts: '**' }\n"
                           "        failure { echo 'post failure ran' }")
    repo, _ = repository(jr, tmp_path / "repo", script)
    push(jr, bare_emu, rendered, names=(CI, PACKAGE, DELIVER))
    runner = make_runner(bare_emu, tmp_path, repo)
    runner.schedule(CI)
    builds = runner.run_queue()
    assert [(b.job, b.result) for b in builds] == [(CI, "FAILURE")]  # no package build
    assert "Triggering" not in builds[0].console
    console = builds[0].console
    assert "+ echo building\nbuilding\n+ exit 3\n" in console
    assert 'Stage "Later" skipped due to earlier failure(s)' in console and "never" not in console
    assert "post always ran" in console and "post failure ran" in console
    assert "[Pipeline] archiveArtifacts" not in console  # success is not met
    assert console.index("post always ran") < console.index("post failure ran")
    assert console.endswith("[Pipeline] End of Pipeline\nERROR: script returned exit code 3\n"
                            "Finished: FAILURE\n")
    assert builds[0].artifacts == []


def test_a_missing_jenkinsfile_fails_the_build(jr, bare_emu, rendered, tmp_path) -> None:
    repo, _ = repository(jr, tmp_path / "repo", None, {"Jenkinsfile": "elsewhere\n"})
    push(jr, bare_emu, rendered)
    runner = make_runner(bare_emu, tmp_path, repo)
    runner.schedule(CI)
    (build,) = runner.run_queue()
    assert build.result == "FAILURE"
    assert build.console == (f"Started by user anonymous\nERROR: Unable to find ci/Jenkinsfile "
                             f"from git {URL}\nFinished: FAILURE\n")


def test_polling_builds_first_then_only_on_a_new_commit_of_the_release_branch(
        jr, bare_emu, rendered, tmp_path) -> None:
    script = pipeline("Show: sh 'echo commit=$GIT_COMMIT branch=$GIT_BRANCH'")
    repo, first = repository(jr, tmp_path / "repo", script)
    push(jr, bare_emu, rendered)
    notes: list[str] = []
    runner = make_runner(bare_emu, tmp_path, repo, log=notes.append)
    assert runner.poll(CI) is True
    assert runner.poll(CI) is False  # no build yet, but already queued (WorkflowJob.java:635)
    (one,) = runner.run_queue()
    assert f"commit={first} branch=origin/{BRANCH}" in one.console
    assert one.causes[0]["_class"] == "hudson.triggers.SCMTrigger$SCMTriggerCause"
    assert runner.poll(CI) is False  # nothing new
    repo.commit({"other.txt": "x\n"}, branch="main")  # a branch the job does not build
    assert runner.poll(CI) is False
    second = repo.commit({"app.txt": "v2\n"}, branch=BRANCH)
    assert runner.poll(CI) is True
    (two,) = runner.run_queue()
    assert (two.number, two.result) == (2, "SUCCESS")
    assert f"commit={second} branch=origin/{BRANCH}" in two.console
    assert runner.poll(CI) is False
    assert any("no previous build to compare to" in n for n in notes)


def test_a_build_that_checked_nothing_out_is_never_started_by_polling_again(
        jr, bare_emu, rendered, tmp_path) -> None:
    script = pipeline("Build: echo 'no checkout here'", options="skipDefaultCheckout()")
    repo, _ = repository(jr, tmp_path / "repo", script)
    push(jr, bare_emu, rendered)
    notes: list[str] = []
    runner = make_runner(bare_emu, tmp_path, repo, log=notes.append)
    assert runner.poll(CI) is True
    (build,) = runner.run_queue()
    assert build.result == "SUCCESS" and "Declarative: Checkout SCM" not in build.console
    repo.commit({"app.txt": "v2\n"}, branch=BRANCH)
    assert runner.poll(CI) is False  # the last successful build recorded no checkout
    assert any("recorded no checkout: nothing to poll" in n for n in notes)
    data = requests.get(bare_emu.url + CI_URL + "1/api/json").json()["actions"]
    assert not any(a.get("_class") == "hudson.plugins.git.util.BuildData" for a in data)


def test_parameters_given_through_build_with_parameters_reach_params_and_the_environment(
        jr, bare_emu, rendered, tmp_path) -> None:
    script = """\
pipeline {
    agent { label "${params.ENVDELIVERY_NODE ?: ''}" }
    options { timeout(time: (params.ENVDELIVERY_BUILD_TIMEOUT ?: '60') as int, unit: 'MINUTES') }
    stages {
        stage('Show') {
            steps {
                echo "params: ${params.ENVDELIVERY_RELEASE} on [${params.ENVDELIVERY_NODE}]"
                sh 'echo "env: $ENVDELIVERY_RELEASE $ENVDELIVERY_BRANCH"'
            }
        }
    }
}
"""
    repo, _ = repository(jr, tmp_path / "repo", script)
    push(jr, bare_emu, rendered)
    runner = make_runner(bare_emu, tmp_path, repo)
    response = requests.post(bare_emu.url + CI_URL + "buildWithParameters",
                             params={"ENVDELIVERY_RELEASE": "hotfix", "ENVDELIVERY_NODE": "",
                                     "ENVDELIVERY_BUILD_TIMEOUT": "5"})
    assert response.status_code == 201, response.text
    (build,) = runner.run_queue()
    assert build.result == "SUCCESS", build.console
    assert build.console.startswith("Started by user anonymous\n")
    assert "params: hotfix on []\n" in build.console
    assert f"env: hotfix {BRANCH}\n" in build.console  # the others keep their defaults
    assert "Timeout set to expire in 5 min 0 sec" in build.console
    assert build.node == "built-in"  # an empty label: any agent (ExecutorStep.java:74)
    assert "Running on Jenkins in " in build.console


def test_a_construct_outside_the_subset_is_refused_with_its_line_and_nothing_runs(
        jr, bare_emu, rendered, tmp_path) -> None:
    script = pipeline("Build: sh 'make'").replace(
        "                sh 'make'\n",
        "                sh 'make'\n                script {\n                    def x = 1\n"
        "                }\n")
    repo, _ = repository(jr, tmp_path / "repo", script)
    push(jr, bare_emu, rendered)
    runner = make_runner(bare_emu, tmp_path, repo)
    runner.schedule(CI)
    with pytest.raises(RunnerError) as raised:
        runner.run_next()
    assert str(raised.value).startswith(
        f"{CI}: ci/Jenkinsfile:7: the block step script {{ … }}: not implemented by the job "
        f"runner; the runner supports: sh, echo, archiveArtifacts")
    job = requests.get(bare_emu.url + CI_URL + "api/json").json()
    assert job["nextBuildNumber"] == 1 and job["lastBuild"] is None and job["inQueue"] is False


def test_a_script_jenkins_would_not_compile_fails_the_build(jr, bare_emu, rendered,
                                                            tmp_path) -> None:
    repo, _ = repository(jr, tmp_path / "repo", "pipeline {\n    stages {\n"
                                                "        stage('a') { steps { echo 'x' } }\n"
                                                "    }\n}\n")
    push(jr, bare_emu, rendered)
    runner = make_runner(bare_emu, tmp_path, repo)
    runner.schedule(CI)
    (build,) = runner.run_queue()
    assert build.result == "FAILURE"
    assert ("org.codehaus.groovy.control.MultipleCompilationErrorsException: startup failed:\n"
            'WorkflowScript: 1: Missing required section "agent" @ line 1, column 1.\n'
            "   pipeline {\n   ^\n\n1 error\n") in build.console
    assert "[Pipeline] Start of Pipeline" not in build.console


def test_a_label_no_agent_has_is_refused_where_jenkins_would_wait_forever(
        jr, bare_emu, rendered, tmp_path) -> None:
    repo, _ = repository(jr, tmp_path / "repo", pipeline("a: echo 'x'", agent="{ label 'gpu' }"))
    push(jr, bare_emu, rendered)
    runner = make_runner(bare_emu, tmp_path, repo)
    runner.schedule(CI)
    with pytest.raises(RunnerError, match=r"ci/Jenkinsfile:2: agent label 'gpu': no agent matches"):
        runner.run_next()
