"""The example Jenkinsfiles the project ships (examples/jenkinsfiles/*/Jenkinsfile) follow the
Jenkinsfile contract (examples/jenkinsfiles/README.md, job-templates/envdelivery-pipeline-ci.yaml)
and run in the job runner's Declarative subset, as the rendered Pipeline CI job's script.

Toolchains the machine may lack (python's `build` from the network, Gradle, Go) are stood in for
by TEST INSTRUMENTS below: tiny scripts that leave the files the real tools would, so that what
is checked is the Jenkinsfile's flow: the checkout, the stages, the contract's
envdelivery-ci.properties and the archive.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from jjb_envdelivery.testing.job_runner.declarative import Lit, StrLit, parse
from tests.testing.test_job_runner_pipeline import (
    BRANCH,
    CI,
    MAKEFILE,
    make_runner,
    project_file,
    push,
    render,
    repository,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "jenkinsfiles"
NAMES = ("python", "java-gradle", "go", "shell")

# TEST INSTRUMENT: python3 for the python example (`-m venv`, `-m pip`, `-m build`, `-m pytest`)
PYTHON = """#!/bin/sh
# TEST INSTRUMENT (tests/testing): stands in for python3 and a virtualenv's python.
case "$1 $2" in
  "-m venv") mkdir -p "$3/bin"; cp "$0" "$3/bin/python"
             printf 'PATH="%s/bin:$PATH"\\n' "$PWD/$3" > "$3/bin/activate" ;;
  "-m pip") ;;
  "-m build") mkdir -p dist; echo sdist > dist/billing_api-1.0.tar.gz
              echo wheel > dist/billing_api-1.0-py3-none-any.whl ;;
  "-m pytest") mkdir -p reports && echo '<testsuite><testcase name="t"/></testsuite>' > reports/pytest.xml ;;
  *) echo "python stub: $*" >&2; exit 2 ;;
esac
"""
# TEST INSTRUMENT: the Gradle wrapper of the java-gradle example's repository
GRADLEW = """#!/bin/sh
# TEST INSTRUMENT (tests/testing): stands in for the Gradle wrapper.
for task in "$@"; do
  case $task in
    assemble) mkdir -p build/libs && echo jar > build/libs/billing-api-1.0.jar ;;
    check) mkdir -p build/test-results/test
           echo '<testsuite><testcase name="t"/></testsuite>' > build/test-results/test/TEST-t.xml ;;
  esac
done
"""
# TEST INSTRUMENT: go for the go example
GO = """#!/bin/sh
# TEST INSTRUMENT (tests/testing): stands in for the go command.
case $1 in
  build) mkdir -p dist && printf '#!/bin/sh\\necho billing-api\\n' > dist/billing-api ;;
  vet|test) echo "ok  	example.com/billing-api	0.01s" ;;
esac
"""
EXPECTED = {
    "python": ["dist/billing_api-1.0-py3-none-any.whl", "dist/billing_api-1.0.tar.gz"],
    "java-gradle": ["build/libs/billing-api-1.0.jar"],
    "go": ["dist/billing-api"],
    "shell": ["dist/bin/billing-api"],
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    return render(project_file(tmp_path_factory.mktemp("render") / "billing-api.yaml"))


def _stubs(tmp_path: Path) -> Path:
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name, text in (("python3", PYTHON), ("go", GO)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    return stubs


def _example_repository(jr, tmp_path: Path, name: str):
    files = {"Makefile": MAKEFILE} if name == "shell" else {}
    repo, _ = repository(jr, tmp_path / "repo", (EXAMPLES / name / "Jenkinsfile").read_text(),
                         files)
    if name == "java-gradle":
        wrapper = repo.path / "gradlew"
        wrapper.write_text(GRADLEW)
        wrapper.chmod(0o755)
        repo.commit({"gradlew": GRADLEW}, message="gradle wrapper", branch=BRANCH)
    return repo, repo.git("rev-parse", BRANCH)


@pytest.mark.parametrize("name", NAMES)
def test_an_example_jenkinsfile_keeps_the_contract(name: str) -> None:
    """Statically: in the subset, the parameters' fallbacks, no skipDefaultCheckout, and a
    fingerprinted archive with envdelivery-ci.properties when the build succeeds."""
    text = (EXAMPLES / name / "Jenkinsfile").read_text()
    model = parse("example", f"examples/jenkinsfiles/{name}/Jenkinsfile", text)
    assert "label \"${params.ENVDELIVERY_NODE ?: ''}\"" in text
    assert "timeout(time: (params.ENVDELIVERY_BUILD_TIMEOUT ?: '60') as int, unit: 'MINUTES')" \
        in text
    assert not model.skip_default_checkout
    assert model.post is not None
    success = dict(model.post.conditions)["success"]
    archive = next(s for s in success if s.name == "archiveArtifacts")
    artifacts = archive.named["artifacts"]
    assert isinstance(artifacts, StrLit) and "envdelivery-ci.properties" in artifacts.constant
    fingerprint = archive.named["fingerprint"]
    assert isinstance(fingerprint, Lit) and fingerprint.value is True
    for key in ("ENVDELIVERY_CI_BUILD=$BUILD_NUMBER", "ENVDELIVERY_GIT_COMMIT=$GIT_COMMIT",
                "ENVDELIVERY_RELEASE=${ENVDELIVERY_RELEASE:-}",
                "ENVDELIVERY_BRANCH=${ENVDELIVERY_BRANCH:-}"):
        assert key in text


@pytest.mark.parametrize("name", NAMES)
def test_an_example_jenkinsfile_runs_as_the_pipeline_ci_jobs_script(
        name: str, jr, bare_emu, rendered, tmp_path, require_commands) -> None:
    require_commands("git", "make")
    repo, sha = _example_repository(jr, tmp_path, name)
    push(jr, bare_emu, rendered)
    path = os.pathsep.join([str(_stubs(tmp_path)), os.environ.get("PATH", "")])
    runner = make_runner(bare_emu, tmp_path, repo, env={**os.environ, "PATH": path})
    assert runner.poll(CI) is True
    (build,) = runner.run_queue()
    assert build.result == "SUCCESS", build.console
    assert build.node == "linux-1"
    assert build.artifacts == sorted(EXPECTED[name] + ["envdelivery-ci.properties"])
    archive = tmp_path / "home/jobs/payments/billing-api-current-ci/builds/1/archive"
    assert (archive / "envdelivery-ci.properties").read_text() == (
        f"ENVDELIVERY_CI_BUILD=1\nENVDELIVERY_GIT_COMMIT={sha}\nENVDELIVERY_RELEASE=current\n"
        f"ENVDELIVERY_BRANCH={BRANCH}\n")


def test_an_example_runs_without_the_parameters_as_the_multibranch_job_runs_it(
        jr, bare_emu, rendered, tmp_path, require_commands) -> None:
    require_commands("git", "make")
    repo, sha = _example_repository(jr, tmp_path, "shell")
    block = re.search(r"<hudson\.model\.ParametersDefinitionProperty>.*?"
                      r"</hudson\.model\.ParametersDefinitionProperty>", rendered[CI], re.S)
    assert block is not None
    push(jr, bare_emu, rendered, ci_edits={block.group(0): ""})
    runner = make_runner(bare_emu, tmp_path, repo)
    runner.schedule(CI)
    (build,) = runner.run_queue()
    assert build.result == "SUCCESS", build.console
    assert build.node == "built-in"  # label '': any agent
    assert "Timeout set to expire in 1 hr 0 min" in build.console  # the fallback '60'
    archive = tmp_path / "home/jobs/payments/billing-api-current-ci/builds/1/archive"
    assert (archive / "envdelivery-ci.properties").read_text() == (
        f"ENVDELIVERY_CI_BUILD=1\nENVDELIVERY_GIT_COMMIT={sha}\nENVDELIVERY_RELEASE=\n"
        f"ENVDELIVERY_BRANCH=\n")
