"""git checkout, environment and polling in the job runner.

Sources: git-plugin @ add6e4dc, src/main/java/hudson/plugins/git/: BranchSpec.java:88-233 and
its tests (src/test/java/hudson/plugins/git/BranchSpecTest.java), GitSCM.java:698-830 (polling),
915-936 (credentials), 1529-1591 (environment), util/DefaultBuildChooser.java:43-135,
extensions/impl/PathRestriction.java:61-146.
"""

from __future__ import annotations

import pytest
import requests

from jjb_envdelivery.testing.job_runner import JobRunner, RunnerError
from jjb_envdelivery.testing.job_runner.git_scm import branch_spec_matches

URL = "https://git.example.com/team/service.git"
PATHS = "hudson.plugins.git.extensions.impl.PathRestriction"


@pytest.mark.parametrize("spec, ref, expected", [
    # BranchSpecTest.testMatch
    ("master", "origin/master", True), ("master", "origin/something/master", False),
    ("master", "master", True), ("master", "dev", False),
    ("origin/*/dev", "origin/something/dev", True), ("origin/*/dev", "origin/dev", False),
    ("origin/*", "origin/x", True), ("origin/*", "origin/x/y", False),
    ("origin/**", "origin/x/y", True), ("**", "origin/x/y", True),
    ("refs/heads/master", "refs/heads/master", True),
    ("refs/heads/master", "origin/master", False),
    ("refs/heads/release/2026.11", "refs/heads/release/2026.11", True),
    (":^(?!origin/main$).*", "origin/main", False), (":^(?!origin/main$).*", "origin/x", True),
])
def test_branch_specs_match_as_the_plugin_does(spec: str, ref: str, expected: bool) -> None:
    assert branch_spec_matches(spec, ref) is expected


def _probe() -> str:
    return ('echo "commit=$GIT_COMMIT branch=$GIT_BRANCH url=$GIT_URL '
            'prev=${GIT_PREVIOUS_COMMIT:-none} prevok=${GIT_PREVIOUS_SUCCESSFUL_COMMIT:-none}"\n'
            "cat app.txt\n")


def test_checkout_and_the_environment_git_sets(jr, bare_emu, tmp_path) -> None:
    repo = jr.GitRepo(tmp_path / "repo")
    first = repo.commit({"app.txt": "v1\n"})
    jr.put_job(bare_emu, "ci", jr.freestyle(
        scm=jr.git_scm(URL, extensions="<hudson.plugins.git.extensions.impl.WipeWorkspace/>"),
        builders=jr.shell(_probe() + 'test -z "$FAIL"')))
    runner = JobRunner(bare_emu, tmp_path / "home", remotes={URL: repo.path})
    runner.schedule("ci")
    one = runner.run_next()
    assert one.result == "SUCCESS", one.console
    assert f"commit={first} branch=origin/main url={URL} prev=none prevok=none" in one.console
    assert f"Checking out Revision {first} (origin/main)" in one.console
    assert "No credentials specified" in one.console and "Wiping out workspace" in one.console
    second = repo.commit({"app.txt": "v2\n"})
    runner.schedule("ci")
    two = runner.run_next()
    assert f"commit={second} branch=origin/main url={URL} prev={first} prevok={first}" \
        in two.console
    assert "v2" in two.console
    data = requests.get(bare_emu.url + "job/ci/2/api/json").json()["actions"][1]
    assert data["_class"] == "hudson.plugins.git.util.BuildData"
    assert data["lastBuiltRevision"]["SHA1"] == second
    assert data["buildsByBranchName"]["origin/main"]["buildNumber"] == 2
    assert data["remoteUrls"] == [URL]


def test_previous_successful_commit_skips_failed_builds(jr, bare_emu, tmp_path) -> None:
    repo = jr.GitRepo(tmp_path / "repo")
    good = repo.commit({"app.txt": "v1\n"})
    jr.put_job(bare_emu, "ci", jr.freestyle(scm=jr.git_scm(URL), builders=jr.shell(
        _probe() + "grep -qv broken app.txt")))
    runner = JobRunner(bare_emu, tmp_path / "home", remotes={URL: repo.path})
    runner.schedule("ci")
    assert runner.run_next().result == "SUCCESS"
    bad = repo.commit({"app.txt": "broken\n"})
    runner.schedule("ci")
    assert runner.run_next().result == "FAILURE"
    repo.commit({"app.txt": "v3\n"})
    runner.schedule("ci")
    third = runner.run_next()
    assert f"prev={bad} prevok={good}" in third.console


def test_a_release_branch_spec_and_git_inside_the_workspace(jr, bare_emu, tmp_path) -> None:
    repo = jr.GitRepo(tmp_path / "repo")
    repo.commit({"app.txt": "main\n"})
    release = repo.commit({"app.txt": "release\n"}, branch="release/2026.11")
    jr.put_job(bare_emu, "ci", jr.freestyle(
        scm=jr.git_scm(URL, branch="refs/heads/release/2026.11"),
        # the workspace's origin keeps the job's URL; insteadOf sends git to the local copy
        builders=jr.shell(_probe() + "git fetch origin && git config remote.origin.url")))
    runner = JobRunner(bare_emu, tmp_path / "home", remotes={URL: repo.path})
    runner.schedule("ci")
    build = runner.run_next()
    assert build.result == "SUCCESS", build.console
    assert f"commit={release} branch=origin/release/2026.11" in build.console
    assert f"\n{URL}\n" in build.console


def test_credentials_id_not_in_the_file_warns_and_clones_anonymously(jr, bare_emu,
                                                                     tmp_path) -> None:
    repo = jr.GitRepo(tmp_path / "repo")
    repo.commit({"app.txt": "v1\n"})
    creds = tmp_path / "credentials.yaml"
    creds.write_text("credentials:\n- {id: git-read, type: usernamePassword, username: ci, "
                     "password: pw}\n")
    jr.put_job(bare_emu, "known", jr.freestyle(scm=jr.git_scm(URL, credentials_id="git-read")))
    jr.put_job(bare_emu, "empty", jr.freestyle(scm=jr.git_scm(URL, credentials_id="")))
    runner = JobRunner(bare_emu, tmp_path / "home", remotes={URL: repo.path}, credentials=creds)
    runner.schedule("known")
    runner.schedule("empty")
    known, empty = runner.run_queue()
    assert "using credential git-read" in known.console and known.result == "SUCCESS"
    # GitSCM.java:933: an empty <credentialsId/> is looked up and not found
    assert 'Warning: CredentialId "" could not be found.' in empty.console
    assert empty.result == "SUCCESS"


def test_a_git_url_without_a_local_remote_is_refused(jr, bare_emu, tmp_path) -> None:
    jr.put_job(bare_emu, "ci", jr.freestyle(scm=jr.git_scm("https://elsewhere/x.git")))
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("ci")
    with pytest.raises(RunnerError, match=r"ci: scm/userRemoteConfigs url "
                                          r"'https://elsewhere/x.git': no local repository"):
        runner.run_next()


def test_polling_compares_the_branch_head_with_the_built_commit(jr, bare_emu, tmp_path) -> None:
    repo = jr.GitRepo(tmp_path / "repo")
    repo.commit({"app.txt": "v1\n"})
    jr.put_job(bare_emu, "ci", jr.freestyle(
        scm=jr.git_scm(URL), triggers="<hudson.triggers.SCMTrigger><spec>H/5 * * * *</spec>"
                                      "</hudson.triggers.SCMTrigger>"))
    jr.put_job(bare_emu, "no-trigger", jr.freestyle(scm=jr.git_scm(URL)))
    runner = JobRunner(bare_emu, tmp_path / "home", remotes={URL: repo.path})
    assert runner.poll("ci") is True  # never built: build now
    assert runner.run_next().causes[0]["_class"] == "hudson.triggers.SCMTrigger$SCMTriggerCause"
    assert runner.poll("ci") is False
    repo.commit({"app.txt": "v2\n"}, branch="other")  # a branch the job does not build
    assert runner.poll("ci") is False
    repo.commit({"app.txt": "v3\n"}, branch="main")
    assert runner.poll("ci") is True
    assert runner.poll("ci") is True  # folds into the waiting build
    assert len(runner.run_queue()) == 1
    with pytest.raises(RunnerError, match="no-trigger: triggers/hudson.triggers.SCMTrigger"):
        runner.poll("no-trigger")


def test_path_restriction_counts_a_commit_only_if_a_changed_path_is_included(
        jr, bare_emu, tmp_path) -> None:
    repo = jr.GitRepo(tmp_path / "repo")
    repo.commit({"jenkins/jobs.yaml": "a\n", "src/main.c": "1\n"})
    restriction = (f"<{PATHS}><includedRegions>jenkins/.*</includedRegions>"
                   f"<excludedRegions>jenkins/README.*</excludedRegions></{PATHS}>")
    jr.put_job(bare_emu, "updater", jr.freestyle(
        scm=jr.git_scm(URL, extensions=restriction),
        triggers="<hudson.triggers.SCMTrigger><spec/></hudson.triggers.SCMTrigger>"))
    notes: list[str] = []
    runner = JobRunner(bare_emu, tmp_path / "home", remotes={URL: repo.path}, log=notes.append)
    assert runner.poll("updater") is True
    runner.run_queue()
    repo.commit({"src/main.c": "2\n"})
    assert runner.poll("updater") is False
    # with excluded regions set, a path outside the included ones falls to "only excluded"
    # with an empty list (PathRestriction.java:127-140)
    assert any(n.endswith("Found only excluded paths: ") for n in notes)
    repo.commit({"jenkins/README.md": "docs\n"})
    assert runner.poll("updater") is False
    assert any("Found only excluded paths: jenkins/README.md" in n for n in notes)
    repo.commit({"jenkins/jobs.yaml": "b\n"})
    assert runner.poll("updater") is True  # one commit since the last build counts
    build = runner.run_queue()[0]
    assert build.result == "SUCCESS"
    assert runner.poll("updater") is False


def test_path_restricted_polling_needs_the_last_workspace(jr, bare_emu, tmp_path) -> None:
    repo = jr.GitRepo(tmp_path / "repo")
    repo.commit({"src/a": "1\n"})
    restriction = f"<{PATHS}><includedRegions>jenkins/.*</includedRegions></{PATHS}>"
    jr.put_job(bare_emu, "updater", jr.freestyle(
        scm=jr.git_scm(URL, extensions=restriction),
        triggers="<hudson.triggers.SCMTrigger><spec/></hudson.triggers.SCMTrigger>"))
    runner = JobRunner(bare_emu, tmp_path / "home", remotes={URL: repo.path})
    notes: list[str] = []
    runner.log = notes.append
    runner.schedule("updater")
    build = runner.run_next()
    repo.commit({"src/b": "2\n"})
    assert runner.poll("updater") is False
    assert any("No paths matched included region whitelist" in n for n in notes)
    import shutil

    shutil.rmtree(build.workspace)
    assert runner.poll("updater") is True  # "[poll] Working Directory does not exist"


def test_clean_before_checkout_removes_untracked_files(jr, bare_emu, tmp_path) -> None:
    repo = jr.GitRepo(tmp_path / "repo")
    repo.commit({"app.txt": "v1\n"})
    clean = "<hudson.plugins.git.extensions.impl.CleanBeforeCheckout/>"
    jr.put_job(bare_emu, "ci", jr.freestyle(
        scm=jr.git_scm(URL, extensions=clean),
        builders=jr.shell("test ! -e untracked && touch untracked")))
    runner = JobRunner(bare_emu, tmp_path / "home", remotes={URL: repo.path})
    runner.schedule("ci")
    runner.run_next()
    runner.schedule("ci")
    second = runner.run_next()
    assert second.result == "SUCCESS", second.console
    assert " > git clean -fdx # timeout=10" in second.console
