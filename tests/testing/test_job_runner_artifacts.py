"""Archiving, fingerprints and copyartifact in the job runner, and the artifacts' REST views.

Sources: core ArtifactArchiver.java:156-170, 239-300 and Run.java:1232-1277 (displayPath);
copyartifact @ 93781725 src/main/java/hudson/plugins/copyartifact/: CopyArtifact.java:455-567
(resolution, the permission check as SYSTEM in production mode, filter/excludes/target/flatten/
optional, "Copied N artifacts", zero files fails at :684), CopyArtifactPermissionProperty.java:
99-133 and its test src/test/java/hudson/plugins/copyartifact/CopyArtifactPermissionPropertyTest
.java:164-225 (testCanCopyArtifact: "sameCopier" and "/folder/sameCopier" match, the copier's
bare full name does not), StatusBuildSelector.java:60-65, SpecificBuildSelector.java:57-95;
src/main/resources/hudson/plugins/copyartifact/Messages.properties:2, 4, 7, 9.
"""

from __future__ import annotations

import json
import os

import pytest
import requests

from jjb_envdelivery.testing.job_runner import JobRunner, RunnerError

STATUS = '<selector class="hudson.plugins.copyartifact.StatusBuildSelector"><stable>{}</stable>' \
         "</selector>"


def _producer(jr, emu, name: str, grants: tuple[str, ...], script: str | None = None) -> None:
    jr.put_job(emu, name, jr.freestyle(
        properties=jr.copy_grant(*grants),
        builders=jr.shell(script or "mkdir -p dist/sub && echo 'echo tool' > dist/tool.sh && "
                                    "chmod 755 dist/tool.sh && echo doc > dist/sub/README"),
        publishers=jr.archive("dist/**", fingerprint="true")))


@pytest.mark.parametrize("grant, allowed", [
    ("team/package", False),   # the copier's bare full name: never matches (defect 1)
    ("package", True),         # relative to the source's folder
    ("/team/package", True),   # "/" + full name
    ("/team/*", True),         # wildcards cross "/"
    ("delivery/*", False),
])
def test_copy_in_a_folder_is_allowed_only_as_the_permission_property_matches(
        jr, bare_emu, tmp_path, grant: str, allowed: bool) -> None:
    _producer(jr, bare_emu, "team/ci", (grant,))
    jr.put_job(bare_emu, "team/package", jr.freestyle(
        builders=jr.copy_artifact("team/ci", STATUS.format("true"), filter="dist/*.sh")
        + jr.shell("./dist/tool.sh >/dev/null && echo copied-and-ran")))
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("team/ci")
    runner.schedule("team/package")
    ci, package = runner.run_queue()
    assert ci.result == "SUCCESS"
    if allowed:
        assert package.result == "SUCCESS", package.console
        assert 'Copied 1 artifact from "team » ci" build number 1' in package.console
        assert "copied-and-ran" in package.console  # the mode survived archive and copy
    else:
        assert package.result == "FAILURE"
        assert ("ERROR: Unable to find project for artifact copy: team/ci\nThis may be due to "
                "incorrect project name or permission settings;") in package.console


def test_a_source_without_the_property_is_not_copied_from(jr, bare_emu, tmp_path) -> None:
    jr.put_job(bare_emu, "ci", jr.freestyle(builders=jr.shell("mkdir d && touch d/x"),
                                            publishers=jr.archive("d/*")))
    jr.put_job(bare_emu, "pkg", jr.freestyle(builders=jr.copy_artifact("ci", STATUS.format(
        "false"))))
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("ci")
    runner.schedule("pkg")
    assert [b.result for b in runner.run_queue()] == ["SUCCESS", "FAILURE"]


def test_copy_options_target_flatten_excludes_and_the_ignored_exclude_element(
        jr, bare_emu, tmp_path) -> None:
    _producer(jr, bare_emu, "ci", ("*",), "mkdir -p dist/a dist/b && touch dist/a/x.tar.gz "
                                          "dist/b/y.tar.gz dist/b/skip.tar.gz dist/c.txt")
    jr.put_job(bare_emu, "flat", jr.freestyle(builders=jr.copy_artifact(
        "ci", STATUS.format("true"), filter="dist/**/*.tar.gz", target="in/$BUILD_NUMBER",
        flatten="true", excludes="**/skip*", exclude="**/y*")  # <exclude> is old data
        + jr.shell("ls in/1")))
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("ci")
    runner.schedule("flat")
    _, flat = runner.run_queue()
    assert flat.result == "SUCCESS", flat.console
    assert sorted(os.listdir(flat.workspace / "in" / "1")) == ["x.tar.gz", "y.tar.gz"]
    assert 'Copied 2 artifacts from "ci" build number 1' in flat.console
    assert "COPYARTIFACT_BUILD_NUMBER_CI" not in flat.console  # set, not printed


def test_zero_files_copied_fails_unless_optional(jr, bare_emu, tmp_path) -> None:
    _producer(jr, bare_emu, "ci", ("*",))
    jr.put_job(bare_emu, "strict", jr.freestyle(builders=jr.copy_artifact(
        "ci", STATUS.format("true"), filter="nothing/*")))
    jr.put_job(bare_emu, "lenient", jr.freestyle(builders=jr.copy_artifact(
        "ci", STATUS.format("true"), filter="nothing/*", optional="true")))
    jr.put_job(bare_emu, "no-build", jr.freestyle(builders=jr.copy_artifact(
        "ci", '<selector class="hudson.plugins.copyartifact.SpecificBuildSelector">'
              "<buildNumber>7</buildNumber></selector>")))
    runner = JobRunner(bare_emu, tmp_path / "home")
    for job in ("ci", "strict", "lenient", "no-build"):
        runner.schedule(job)
    _, strict, lenient, no_build = runner.run_queue()
    assert strict.result == "FAILURE"
    assert 'Copied 0 artifacts from "ci" build number 1' in strict.console
    assert "ERROR: Failed to copy artifacts from ci with filter: nothing/*" in strict.console
    assert lenient.result == "SUCCESS"
    assert no_build.result == "FAILURE"
    assert "ERROR: Unable to find a build for artifact copy from: ci" in no_build.console


def test_status_selector_stable_or_not_and_unstable_builds_still_archive(jr, bare_emu,
                                                                         tmp_path) -> None:
    jr.put_job(bare_emu, "ci", jr.freestyle(
        properties=jr.copy_grant("stable", "any"),
        builders=jr.shell('mkdir -p d && echo "#$BUILD_NUMBER" > d/n.txt && exit "$CODE"',
                          unstable_return=3),
        publishers=jr.archive("d/*", onlyIfSuccessful="true")))
    for name, stable in (("stable", "true"), ("any", "false")):
        jr.put_job(bare_emu, name, jr.freestyle(builders=jr.copy_artifact(
            "ci", STATUS.format(stable), flatten="true") + jr.shell("cat n.txt")))
    runner = JobRunner(bare_emu, tmp_path / "home", env={**os.environ, "CODE": "0"})
    runner.schedule("ci")
    assert runner.run_next().result == "SUCCESS"
    runner.agent_env = {**os.environ, "CODE": "3"}
    runner.schedule("ci")
    unstable = runner.run_next()
    assert unstable.result == "UNSTABLE"  # unstableReturn: UNSTABLE, and it goes on
    assert "Build step 'Execute shell' changed build result to UNSTABLE" in unstable.console
    assert unstable.artifacts == ["d/n.txt"]  # onlyIfSuccessful skips only worse than UNSTABLE
    runner.schedule("stable")
    runner.schedule("any")
    stable, any_ = runner.run_queue()
    assert "#1" in stable.console and "#2" in any_.console


def test_unknown_selector_is_refused_by_its_class(jr, bare_emu, tmp_path) -> None:
    jr.put_job(bare_emu, "pkg", jr.freestyle(builders=jr.copy_artifact(
        "ci", '<selector class="hudson.plugins.copyartifact.SavedBuildSelector"/>')))
    runner = JobRunner(bare_emu, tmp_path / "home")
    runner.schedule("pkg")
    with pytest.raises(RunnerError, match="pkg: builders/hudson.plugins.copyartifact.CopyArtifact"
                                          "/selector class='hudson.plugins.copyartifact."
                                          "SavedBuildSelector'"):
        runner.run_next()


def test_archive_excludes_default_excludes_and_empty_archives(jr, bare_emu, tmp_path) -> None:
    jr.put_job(bare_emu, "ci", jr.freestyle(
        builders=jr.shell("mkdir -p out/.git out/x && touch out/a.txt out/b.log out/.git/c "
                          "out/x/d.txt out/e.txt~"),
        publishers=jr.archive("out/**", excludes="**/*.log")))
    jr.put_job(bare_emu, "empty", jr.freestyle(publishers=jr.archive("none/*")))
    jr.put_job(bare_emu, "allowed", jr.freestyle(publishers=jr.archive(
        "none/*", allowEmptyArchive="true")))
    runner = JobRunner(bare_emu, tmp_path / "home")
    for job in ("ci", "empty", "allowed"):
        runner.schedule(job)
    ci, empty, allowed = runner.run_queue()
    assert ci.artifacts == ["out/a.txt", "out/x/d.txt"]
    assert empty.result == "FAILURE"
    assert ('ERROR: Step ‘Archive the artifacts’ failed: No artifacts found that match the file '
            'pattern "none/*". Configuration error?') in empty.console
    assert allowed.result == "SUCCESS"


def test_artifacts_are_served_by_the_emulator_and_fingerprinted(jr, bare_emu, tmp_path) -> None:
    jr.put_job(bare_emu, "ci", jr.freestyle(
        properties=jr.copy_grant("pkg"),
        builders=jr.shell("mkdir -p a b && echo one > a/same.txt && echo two > b/same.txt && "
                          "echo three > other.txt"),
        publishers=jr.archive("a/*, b/*, other.txt", fingerprint="true")))
    jr.put_job(bare_emu, "pkg", jr.freestyle(builders=jr.copy_artifact(
        "ci", STATUS.format("true"), filter="other.txt")))
    home = tmp_path / "home"
    runner = JobRunner(bare_emu, home)
    runner.schedule("ci")
    runner.schedule("pkg")
    runner.run_queue()
    info = requests.get(bare_emu.url + "job/ci/1/api/json").json()
    assert info["artifacts"] == [
        {"displayPath": "a/same.txt", "fileName": "same.txt", "relativePath": "a/same.txt"},
        {"displayPath": "b/same.txt", "fileName": "same.txt", "relativePath": "b/same.txt"},
        {"displayPath": "other.txt", "fileName": "other.txt", "relativePath": "other.txt"}]
    assert requests.get(bare_emu.url + "job/ci/1/artifact/b/same.txt").text == "two\n"
    assert requests.get(bare_emu.url + "job/ci/lastSuccessfulBuild/artifact/other.txt").text \
        == "three\n"
    assert requests.get(bare_emu.url + "job/ci/1/artifact/nope.txt").status_code == 404
    assert (home / "jobs" / "ci" / "builds" / "1" / "archive" / "a" / "same.txt").is_file()
    prints = json.loads((home / "fingerprints.json").read_text())
    other = next(v for v in prints.values() if v["fileName"] == "other.txt")
    assert other["original"] == {"job": "ci", "number": 1}
    assert other["usages"] == {"ci": [1], "pkg": [1]}
