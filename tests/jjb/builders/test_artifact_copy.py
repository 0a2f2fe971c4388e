"""envdelivery-copy and envdelivery-git: the XML read against the plugins' source, bad options,
both render paths, and plain `jenkins-jobs`.

The fixtures (fixtures/copy-*.yaml, git-*.yaml) are rendered by test_builders.py; here each
element is checked against the fields the plugins declare. Citations are to the snapshots of
shared/reference/jenkins-plugin-semantics.md §0:
copyartifact = jenkinsci/copyartifact-plugin@937817258df3, src/main/java/hudson/plugins/copyartifact/;
git = jenkinsci/git-plugin@add6e4dc74e6, src/main/java/hudson/plugins/git/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from jenkins_jobs.errors import InvalidAttributeError, JenkinsJobsException, MissingAttributeError

from jjb_envdelivery.errors import EnvDeliveryError
from jjb_envdelivery.jjb import artifact_copy, git_scm
from jjb_envdelivery.jjb.pipeline import set_fast_path
from jjb_envdelivery.render import render_paths

from .conftest import jjb_pipeline, origin

FIXTURES = Path(__file__).parent / "fixtures"
COPY_FIXTURES = sorted(p for p in FIXTURES.glob("copy-*.yaml") if p.with_suffix(".xml").exists())
GIT_FIXTURES = sorted(FIXTURES.glob("git-*.yaml"))
PLUGIN = "hudson.plugins.copyartifact."

# CopyArtifact's non-transient fields, in declaration order (copyartifact CopyArtifact.java:133-142;
# :132 projectName and :139 stable are transient legacy fields, read only to migrate old XML).
COPY_FIELDS = ["project", "parameters", "filter", "target", "includeBuildNumberInTargetPath", "excludes",
               "selector", "flatten", "optional", "doNotFingerprintArtifacts", "resultVariableSuffix"]
# Each selector class's fields: TriggeredBuildSelector.java:97-99, StatusBuildSelector.java:41,
# SpecificBuildSelector.java:47.
SELECTOR_FIELDS = {
    "TriggeredBuildSelector": {"fallbackToLastSuccessful", "upstreamFilterStrategy", "allowUpstreamDependencies"},
    "StatusBuildSelector": {"stable"},
    "SpecificBuildSelector": {"buildNumber"},
}
# TriggeredBuildSelector.UpstreamFilterStrategy constants (TriggeredBuildSelector.java:59-78); XStream
# reads an enum by its constant name.
UPSTREAM_STRATEGIES = {"UseGlobalSetting", "UseOldest", "UseNewest"}


def copies(xml: bytes) -> list[ET.Element]:
    return ET.fromstring(xml).findall(f"builders/{PLUGIN}CopyArtifact")


def rendered(path: Path) -> bytes:
    scope = render_paths([path])
    assert len(scope.jobs) == 1
    return scope.jobs[0].output()


@pytest.mark.parametrize("path", COPY_FIXTURES, ids=lambda p: p.stem)
def test_copy_writes_only_the_plugins_fields(path):
    steps = copies(rendered(path))
    assert steps
    for step in steps:
        tags = [child.tag for child in step]
        # No unknown element (it would be "old data", dropped: jenkins-plugin-semantics.md §2), in
        # the order Jenkins itself writes the fields back.
        assert tags == [field for field in COPY_FIELDS if field in tags]
        assert "exclude" not in tags
        # XStream runs no constructor: an absent filter or target stays null, and perform() calls
        # target.length() and expands filter unguarded (CopyArtifact.java:523, 527).
        assert {"project", "filter", "target", "selector"} <= set(tags)
        for boolean in ("flatten", "optional", "doNotFingerprintArtifacts"):
            assert step.findtext(boolean) in ("true", "false")
        selector = step.find("selector")
        cls = selector.get("class")
        assert cls.startswith(PLUGIN)
        short = cls.removeprefix(PLUGIN)
        assert {child.tag for child in selector} <= SELECTOR_FIELDS[short]
        if short == "TriggeredBuildSelector":
            # Absent, the global setting applies, whose default is UseOldest
            # (TriggeredBuildSelector.java:168-185, 271-275): always say which.
            assert selector.findtext("upstreamFilterStrategy") in UPSTREAM_STRATEGIES
            assert selector.findtext("fallbackToLastSuccessful") in ("true", "false")
        if short == "StatusBuildSelector":
            # stable true: result SUCCESS only; false: UNSTABLE too (StatusBuildSelector.java:62-65).
            assert selector.findtext("stable") in ("true", "false")


def test_parameters_only_when_given():
    # A present <parameters> (even empty: XStream gives "") selects through ParametersBuildFilter
    # (CopyArtifact.java:493); without the option the element is not written.
    for path in COPY_FIXTURES:
        data = yaml.safe_load(path.read_text())[0]["job"]["builders"]
        for step, options in zip(copies(rendered(path)), data, strict=True):
            assert (step.find("parameters") is not None) == ("parameters" in options["envdelivery-copy"])


def test_upstream_filter_maps_to_the_enum():
    step = copies(rendered(FIXTURES / "copy-upstream-build.yaml"))[0]
    assert step.findtext("selector/upstreamFilterStrategy") == "UseNewest"
    step = copies(rendered(FIXTURES / "copy-upstream-oldest-no-fallback.yaml"))[0]
    assert step.findtext("selector/upstreamFilterStrategy") == "UseOldest"
    assert step.findtext("selector/fallbackToLastSuccessful") == "false"
    first, second = copies(rendered(FIXTURES / "copy-upstream-global.yaml"))
    assert first.findtext("selector/upstreamFilterStrategy") == "UseGlobalSetting"
    assert second.findtext("selector/stable") == "false"


def test_defaults_are_the_plugins_constructor_defaults():
    # The plugin's constructor default selector is StatusBuildSelector(true) (CopyArtifact.java:125, 197).
    step = copies(rendered(FIXTURES / "copy-defaults.yaml"))[0]
    assert step.find("selector").get("class") == PLUGIN + "StatusBuildSelector"
    assert step.findtext("selector/stable") == "true"
    assert step.findtext("filter") == "" and step.findtext("target") == ""


def _docstring_examples(function) -> list[list]:
    """The YAML blocks after 'Example...::' in a component's docstring."""
    blocks, lines = [], function.__doc__.splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith("Example") and line.rstrip().endswith("::"):
            body = []
            for following in lines[index + 2:]:
                if following.strip() and not following.startswith(" " * 8):
                    break
                body.append(following[8:])
            blocks.append(yaml.safe_load("\n".join(body))["builders" if "builders:" in body[0] else "scm"])
    return blocks


@pytest.mark.parametrize("function, fixtures", [
    (artifact_copy.envdelivery_copy, ["copy-upstream-build.yaml", "copy-last-successful-stable.yaml"]),
    (git_scm.envdelivery_git, None),
])
def test_docstring_examples_are_fixtures(function, fixtures):
    examples = _docstring_examples(function)
    assert examples
    if fixtures is None:
        return
    assert [yaml.safe_load((FIXTURES / name).read_text())[0]["job"]["builders"] for name in fixtures] == examples


@pytest.mark.parametrize("path", [*COPY_FIXTURES, *GIT_FIXTURES], ids=lambda p: p.stem)
def test_fast_path_renders_the_same_bytes(path):
    try:
        set_fast_path(False)
        plain = rendered(path)
    finally:
        set_fast_path(None)
    assert rendered(path) == plain


def test_plain_jenkins_jobs_sees_both_components(tmp_path):
    """The entry points (setup.cfg) work for plain `jenkins-jobs test`."""
    out = tmp_path / "out"
    names = {"copy-upstream-build": "billing-api-current-package", "git-empty-credential": "ci"}
    subprocess.run(
        [Path(sys.executable).with_name("jenkins-jobs"), "-l", "error", "test", "--config-xml", "-o", out,
         os.pathsep.join(str(FIXTURES / f"{name}.yaml") for name in names)],
        check=True, capture_output=True, cwd=tmp_path,
    )
    for fixture, job in names.items():
        assert (out / job / "config.xml").read_text() == (FIXTURES / f"{fixture}.xml").read_text()


# --- git ------------------------------------------------------------------------------------


def remote_configs(xml: bytes) -> list[ET.Element]:
    return ET.fromstring(xml).findall("scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig")


def test_git_omits_an_empty_credential():
    # UserRemoteConfig fields: name, refspec, url, credentialsId (UserRemoteConfig.java:52-55). A ""
    # id is looked up and logs 'CredentialId "" could not be found' (GitSCM.java:918-936, 947-960);
    # absent, it is null: "No credentials specified".
    (remote,) = remote_configs(rendered(FIXTURES / "git-empty-credential.yaml"))
    assert [child.tag for child in remote] == ["name", "refspec", "url"]
    (remote,) = remote_configs(rendered(FIXTURES / "git-credential.yaml"))
    assert remote.findtext("credentialsId") == "payments-git-read"


def _render_job(tmp_path, section: str, component: str, data) -> bytes:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump([{"job": {"name": "j", section: [{component: data}]}}], sort_keys=False))
    return rendered(path)


def test_git_credential_in_each_remote(tmp_path):
    xml = _render_job(tmp_path, "scm", "envdelivery-git", {
        "remotes": [{"origin": {"url": "https://git.example.com/a.git", "credentials-id": ""}},
                    {"mirror": {"url": "https://mirror.example.com/a.git", "credentials-id": "mirror-read"}}],
        "branches": ["refs/heads/main"],
    })
    first, second = remote_configs(xml)
    assert first.find("credentialsId") is None
    assert second.findtext("credentialsId") == "mirror-read"


def test_git_whitespace_credential_is_none(tmp_path):
    xml = _render_job(tmp_path, "scm", "envdelivery-git", {"url": "https://git.example.com/a.git",
                                                           "credentials-id": "  "})
    assert remote_configs(xml)[0].find("credentialsId") is None


# --- bad options, through JJB's own pipeline and through render ------------------------------

GOOD = {"project": "up", "which-build": "upstream-build"}


def _invalid(field, value, expected, base=GOOD):
    return pytest.param({**base, field: value}, InvalidAttributeError,
                        f"{value!r} is an invalid value for attribute builder.envdelivery-copy.{field}: "
                        f"expected {expected}", id=f"{field}={value!r}")


BAD_COPIES = [
    pytest.param(["up"], JenkinsJobsException, "builder.envdelivery-copy: expected a mapping of options",
                 id="list"),
    pytest.param({"which-build": "upstream-build"}, MissingAttributeError,
                 "Missing project from an instance of 'builder.envdelivery-copy'", id="missing-project"),
    *(_invalid("project", value, "a non-empty string") for value in (5, "", "  ", None, ["a"])),
    *(_invalid(field, value, "a string") for field in ("filter", "target", "excludes") for value in (5, None, ["a"])),
    *(_invalid("parameters", value, "a non-empty string") for value in ("", 5, None)),
    *(_invalid(field, value, "true or false")
      for field in ("flatten", "optional", "do-not-fingerprint", "fallback-to-last-successful")
      for value in ("yes", 1, None)),
    _invalid("stable", "maybe", "true or false", {"project": "up"}),
    *(_invalid("which-build", value, "one of upstream-build, last-successful, specific-build")
      for value in ("last-completed", "permalink", 5, None)),
    *(_invalid("upstream-filter", value, "one of newest, oldest, global")
      for value in ("latest", "UseNewest", True, None)),
    *(_invalid("build-number", value, "a build number, a permalink name or a $VARIABLE (a non-empty string)",
               {"project": "up", "which-build": "specific-build"})
      for value in (0, -3, "", True, None, [1])),
    _invalid("result-var-suffix", "A-B", "letters, digits and '_' (or '' for the plugin's default)"),
    pytest.param({**GOOD, "exclude": "x"}, JenkinsJobsException,
                 "builder.envdelivery-copy: unknown option(s) exclude; known are: build-number", id="exclude"),
    pytest.param({"project": "up", "fallback-to-last-successful": True}, JenkinsJobsException,
                 "builder.envdelivery-copy: fallback-to-last-successful is used only with which-build: "
                 "upstream-build, not with which-build: last-successful", id="fallback-with-last-successful"),
    pytest.param({"project": "up", "build-number": 3}, JenkinsJobsException,
                 "build-number is used only with which-build: specific-build", id="build-number-elsewhere"),
]


@pytest.mark.parametrize("data, error_type, message", BAD_COPIES)
def test_bad_copy_option(tmp_path, data, error_type, message):
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump([{"job": {"name": "bad", "builders": [{"envdelivery-copy": data}]}}],
                                   sort_keys=False))
    with pytest.raises(JenkinsJobsException) as caught:
        jjb_pipeline(path)
    assert isinstance(origin(caught.value), error_type), repr(origin(caught.value))
    assert message in str(origin(caught.value))
    assert "In builder 'envdelivery-copy'" in "\n".join(caught.value.lines)
    with pytest.raises(EnvDeliveryError) as caught:
        render_paths([path])
    assert message in str(caught.value)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "envdelivery-copy" in text)
    assert f"{path}:{line}:" in str(caught.value)  # the builder's line


def test_every_copy_option_has_bad_cases():
    covered = {key for case in BAD_COPIES for key in case.values[0] if isinstance(case.values[0], dict)
               and (f".{key}:" in case.values[2] or f" {key} " in case.values[2] or f"{key}," in case.values[2])}
    options = set(artifact_copy.COMMON_OPTIONS) | set(artifact_copy.SELECTOR_OPTIONS)
    assert options <= covered | {"which-build"}, options - covered


def test_git_rejects_a_non_string_credential(tmp_path):
    with pytest.raises(EnvDeliveryError) as caught:
        _render_job(tmp_path, "scm", "envdelivery-git", {"url": "https://git.example.com/a.git",
                                                         "credentials-id": 5})
    assert "scm.envdelivery-git.credentials-id: expected a Jenkins credential ID" in str(caught.value)
