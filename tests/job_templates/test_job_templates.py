"""The shipped job-templates/: fixtures, Jenkins config semantics, the example teams' YAML.

Fixtures follow JJB's layout: ``fixtures/NAME.yaml`` (a generator context + a team project)
renders to ``fixtures/NAME/<job name>/config.xml``, one file per job as `jenkins-jobs test
--config-xml` writes them. The expected files were read against the plugins' config.xml
formats; the semantic tests below check the parts that matter element by element.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from jjb_envdelivery import generator
from jjb_envdelivery.data_dirs import shipped_templates_dir
from jjb_envdelivery.jjb.pipeline import generate_xml, make_jjb_config, write_xml
from jjb_envdelivery.model.loader import load_organisation

FIXTURES = Path(__file__).with_name("fixtures")
SCENARIOS = sorted(p.stem for p in FIXTURES.glob("*.yaml"))
KINDS = ("ci", "package", "deliver")

CB = "org.jenkinsci.plugins.credentialsbinding.impl."
COPY = "hudson.plugins.copyartifact."


def render(*paths: Path) -> dict[str, ET.Element]:
    scope = generate_xml(make_jjb_config(), [shipped_templates_dir(), *paths])
    return {job.name: ET.fromstring(job.output()) for job in scope.jobs}


def render_bytes(*paths: Path) -> dict[str, bytes]:
    scope = generate_xml(make_jjb_config(), [shipped_templates_dir(), *paths])
    return {job.name: job.output() for job in scope.jobs}


def text(root: ET.Element, path: str) -> str:
    node = root.find(path)
    assert node is not None, f"missing {path}"
    return node.text or ""


def shell_commands(root: ET.Element) -> list[str]:
    return [node.text or "" for node in root.findall("builders/hudson.tasks.Shell/command")]


# --- fixtures -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_fixture_output(name, tmp_path):
    scope = generate_xml(make_jjb_config(), [shipped_templates_dir(), FIXTURES / f"{name}.yaml"])
    expected_dir = FIXTURES / name
    expected = sorted(p.relative_to(expected_dir) for p in expected_dir.rglob("config.xml"))
    written = sorted(p.relative_to(tmp_path) for p in write_xml(scope.jobs, tmp_path))
    assert written == expected
    for rel in expected:
        assert (tmp_path / rel).read_text() == (expected_dir / rel).read_text(), rel


# --- semantics of the rendered jobs ------------------------------------------------------------


@pytest.fixture(scope="module")
def service_jobs() -> dict[str, ET.Element]:
    return render(FIXTURES / "service.yaml")


RELEASES = {"current": "release/2026.11", "previous": "release/2026.10", "upcoming": "main"}


def test_service_group_makes_three_jobs_per_release_line(service_jobs):
    assert sorted(service_jobs) == sorted(
        f"payments/billing-api-{release}-{kind}" for release in RELEASES for kind in KINDS
    )


@pytest.mark.parametrize("release", RELEASES)
def test_ci_job(service_jobs, release):
    job = service_jobs[f"payments/billing-api-{release}-ci"]
    assert text(job, "disabled") == "false"
    scm = job.find("scm")
    assert scm.get("class") == "hudson.plugins.git.GitSCM"
    remote = "userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url"
    assert text(scm, remote) == "https://git.example.com/payments/billing-api.git"
    # refs/heads/: the git plugin would read "release/2026.11" as remote "release".
    branches = [b.text for b in scm.findall("branches/hudson.plugins.git.BranchSpec/name")]
    assert branches == [f"refs/heads/{RELEASES[release]}"]
    assert text(job, "triggers/hudson.triggers.SCMTrigger/spec") == "H/5 * * * *"
    commands = shell_commands(job)
    assert commands[:2] == ["make build", "make test"]
    assert "ENVDELIVERY_GIT_COMMIT=$GIT_COMMIT" in commands[2]
    # Nothing turns a failing shell step into anything but a failure.
    assert job.find(".//hudson.tasks.Shell/unstableReturn") is None
    assert not any("|| true" in c or "set +e" in c for c in commands)
    junit = job.find("publishers/hudson.tasks.junit.JUnitResultArchiver")
    assert text(junit, "testResults") == "reports/junit.xml"
    assert text(junit, "allowEmptyResults") == "false"
    archiver = job.find("publishers/hudson.tasks.ArtifactArchiver")
    assert text(archiver, "artifacts") == "dist/*, Dockerfile, envdelivery-ci.properties"
    assert text(archiver, "fingerprint") == "true"
    assert text(archiver, "onlyIfSuccessful") == "true"
    assert text(archiver, "allowEmptyArchive") == "false"
    assert job.find("buildWrappers/hudson.plugins.timestamper.TimestamperBuildWrapper") is not None
    rotator = job.find("properties/jenkins.model.BuildDiscarderProperty/strategy")
    assert rotator.get("class") == "hudson.tasks.LogRotator"
    assert text(rotator, "numToKeep") == "30"
    allowed = job.findall(
        f"properties/{COPY}CopyArtifactPermissionProperty/projectNameList/string"
    )
    # The package job, and the root scope's environment jobs (they fetch the provisioning tool),
    # by '/' + full name: the only form copyartifact matches from any folder (test_plugin_semantics.py).
    assert [p.text for p in allowed] == [f"/payments/billing-api-{release}-package", "/delivery/*"]


def assert_triggered_by(job: ET.Element, upstream: str) -> None:
    triggers = list(job.find("triggers"))
    assert [t.tag for t in triggers] == ["jenkins.triggers.ReverseBuildTrigger"]
    assert text(triggers[0], "upstreamProjects") == upstream
    assert text(triggers[0], "threshold/name") == "SUCCESS"
    assert text(triggers[0], "threshold/completeBuild") == "true"


def assert_copies_triggering_build(job: ET.Element, upstream: str, target: str) -> None:
    copies = job.findall(f"builders/{COPY}CopyArtifact")
    assert len(copies) == 1
    copy = copies[0]
    assert text(copy, "project") == upstream
    assert text(copy, "target") == target
    assert text(copy, "optional") == "false"
    assert text(copy, "doNotFingerprintArtifacts") == "false"
    selector = copy.find("selector")
    assert selector.get("class") == f"{COPY}TriggeredBuildSelector"
    assert text(selector, "fallbackToLastSuccessful") == "true"
    # Of several triggering builds folded into one, the newest (test_plugin_semantics.py).
    assert text(selector, "upstreamFilterStrategy") == "UseNewest"
    # The workspace is cleaned before the copy, so nothing stale is packaged or delivered.
    builders = list(job.find("builders"))
    assert builders.index(copy) == 1
    assert (builders[0].findtext("command") or "").startswith("rm -rf ")


@pytest.mark.parametrize("release", RELEASES)
def test_package_job(service_jobs, release):
    job = service_jobs[f"payments/billing-api-{release}-package"]
    # Absolute names: resolved from any folder, rewritten on a rename (test_plugin_semantics.py).
    ci = f"/payments/billing-api-{release}-ci"
    assert text(job, "disabled") == "false"
    assert job.find("scm").get("class") == "hudson.scm.NullSCM"
    assert_triggered_by(job, ci)
    assert_copies_triggering_build(job, ci, "upstream")
    commands = shell_commands(job)
    assert any("ENVDELIVERY_VERSION=$ci_build-g$short" in c for c in commands)
    assert any("docker build" in c and "docker save -o package/billing-api.docker.tar" in c
               for c in commands)
    archiver = job.find("publishers/hudson.tasks.ArtifactArchiver")
    assert text(archiver, "artifacts") == "package/**"
    assert text(archiver, "fingerprint") == "true"
    allowed = job.findall(
        f"properties/{COPY}CopyArtifactPermissionProperty/projectNameList/string"
    )
    assert [p.text for p in allowed] == [f"/payments/billing-api-{release}-deliver"]


@pytest.mark.parametrize("release", RELEASES)
def test_deliver_job(service_jobs, release):
    job = service_jobs[f"payments/billing-api-{release}-deliver"]
    package = f"/payments/billing-api-{release}-package"
    assert text(job, "disabled") == "false"
    assert_triggered_by(job, package)
    assert_copies_triggering_build(job, package, "")
    bindings = list(job.find(f"buildWrappers/{CB}SecretBuildWrapper/bindings"))
    assert [(b.tag.rsplit(".", 1)[1], b.findtext("credentialsId")) for b in bindings] == [
        ("UsernamePasswordMultiBinding", "payments-registry-push"),
        ("SSHUserPrivateKeyBinding", "payments-deploy-ssh"),
    ]
    commands = shell_commands(job)
    assert any('docker push "registry.example.com/payments/billing-api:$version"' in c
               for c in commands)
    assert any('"$SSH_USER@billing-01.example.com"' in c and "-i \"$SSH_KEY\"" in c
               for c in commands)


def test_template_defaults_emit_no_optional_steps():
    # The CI example has no JUnit for `test-report: none`; the package example no deliver steps.
    jobs = render(FIXTURES / "package.yaml")
    for job in jobs.values():
        assert job.find(f"buildWrappers/{CB}SecretBuildWrapper") is None
    jobs = render(FIXTURES / "prefix-deb.yaml")
    ci = jobs["portal-status-page-upcoming-ci"]
    assert ci.find("publishers/hudson.tasks.junit.JUnitResultArchiver") is None
    assert [b.text for b in ci.findall("scm/branches/hudson.plugins.git.BranchSpec/name")] == [
        "refs/heads/main"
    ]


def test_prefix_namespace_and_disabled_jobs():
    jobs = render(FIXTURES / "python-repository.yaml")
    assert sorted(jobs) == [f"portal-sdk-current-{kind}" for kind in sorted(KINDS)]
    for job in jobs.values():
        assert text(job, "disabled") == "true"
    assert_triggered_by(jobs["portal-sdk-current-package"], "/portal-sdk-current-ci")
    deliver = jobs["portal-sdk-current-deliver"]
    bindings = list(deliver.find(f"buildWrappers/{CB}SecretBuildWrapper/bindings"))
    assert [(b.tag.rsplit(".", 1)[1], b.findtext("credentialsId")) for b in bindings] == [
        ("UsernamePasswordMultiBinding", "portal-pypi-upload"),
        ("FileBinding", "portal-docs-kubeconfig"),
    ]
    assert text(bindings[0], "usernameVariable") == "TWINE_USERNAME"
    remote = "scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/credentialsId"
    assert text(jobs["portal-sdk-current-ci"], remote) == "portal-git-read"


def test_every_shipped_template_sets_defaults_disabled_and_prefix():
    for path in shipped_templates_dir().glob("*.yaml"):
        for entry in yaml.safe_load(path.read_text()):
            if "job-template" not in entry:
                continue
            template = entry["job-template"]
            assert template["defaults"] == "envdelivery", path
            assert template["disabled"] == "{jobs-disabled}", path
            # Per release line, except the multibranch job: one per service, its branch jobs inside.
            stem = "{job-prefix}{service}-" if template.get("project-type") == "multibranch" \
                else "{job-prefix}{service}-{release}-"
            assert template["name"].startswith(stem), path


# --- secrets --------------------------------------------------------------------------------

SECRET_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key ID
    re.compile(r"\b(?:ghp|gho|glpat|xox[abps])[-_][A-Za-z0-9_-]{10,}"),  # GitHub/GitLab/Slack
    re.compile(r"://[^/\s:@&;]+:[^/\s@&;$]+@"),  # user:password@ in a URL
    re.compile(r"(?i)(?:password|passwd|secret|token|api[_-]?key)\s*[=:]\s*['\"]?(?![$'\"<])\S{4,}"),
    re.compile(r"(?i)--password(?:=|\s+)(?!-)\S+"),  # a literal on a command line
    re.compile(r"\b[A-Za-z0-9+/]{40,}={0,2}"),  # long base64/hex blobs
]
BINDING_CHILDREN = {
    "credentialsId", "variable", "usernameVariable", "passwordVariable", "keyFileVariable",
    "passphraseVariable",
}


def secrets_in(xml: str) -> list[str]:
    return [m.group(0) for p in SECRET_PATTERNS for m in p.finditer(xml)]


def test_secret_detector_catches_secrets():
    assert secrets_in("docker login -u bot --password hunter22 registry")
    assert secrets_in("curl https://bot:s3cr3t@repo.example.com/x")
    assert secrets_in("export API_TOKEN=abcd1234")
    assert secrets_in("AKIAABCDEFGHIJKLMNOP")
    assert not secrets_in('docker login --username "$REGISTRY_USER" --password-stdin host')


def assert_no_secrets(name: str, xml: bytes) -> None:
    found = secrets_in(xml.decode("utf-8"))
    assert not found, f"{name}: {found}"
    root = ET.fromstring(xml)
    for binding in root.findall(f".//{CB}SecretBuildWrapper/bindings/*"):
        children = {child.tag for child in binding}
        assert "credentialsId" in children, name
        assert children <= BINDING_CHILDREN, (name, children)


@pytest.mark.parametrize("name", SCENARIOS)
def test_fixture_jobs_hold_no_secrets(name):
    for job_name, xml in render_bytes(FIXTURES / f"{name}.yaml").items():
        assert_no_secrets(job_name, xml)


# --- the example organisation's teams -------------------------------------------------------


def load_org(example_org_dir: Path) -> dict:
    return yaml.safe_load((example_org_dir / "delivery.yaml").read_text())


def context_defaults(example_org_dir: Path, project_name: str) -> list:
    """The `envdelivery` defaults the generator writes for one project scope (the contract)."""
    org = load_organisation(example_org_dir)
    return generator.project_context(org, org.project(project_name))


def example_projects():
    org = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "examples/example-org/delivery.yaml").read_text()
    )
    return [p["name"] for p in org["projects"]]


@pytest.mark.parametrize("project_name", example_projects())
def test_example_team_yaml_renders(project_name, example_org_dir, tmp_path):
    org = load_org(example_org_dir)
    project = next(p for p in org["projects"] if p["name"] == project_name)
    context = tmp_path / "envdelivery-context.yaml"
    context.write_text(yaml.safe_dump(context_defaults(example_org_dir, project_name)))
    jobs_dir = example_org_dir / project["repo"]["local-checkout"] / project["jobs-path"]
    assert sorted(jobs_dir.glob("*.yaml")), jobs_dir
    rendered = render_bytes(context, jobs_dir)
    prefix = context_defaults(example_org_dir, project_name)[0]["defaults"]["job-prefix"]
    expected = {
        f"{prefix}{service}-{line['name']}-{kind}"
        for service in project["services"]
        for line in org["release-lines"]
        for kind in KINDS
    }
    assert len(expected) == 3 * len(project["services"]) * len(org["release-lines"])
    if project.get("ci") == "pipeline":  # identity: a multibranch job per service as well
        expected |= {f"{prefix}{service}-branches" for service in project["services"]}
    assert set(rendered) == expected
    for name, xml in rendered.items():
        assert_no_secrets(name, xml)
        assert b"<disabled>false</disabled>" in xml
        assert b"{" not in xml.replace(b"${", b""), f"{name}: unexpanded parameter"


def test_envtool_is_packaged_as_deb_and_delivered_to_the_agents(example_org_dir, tmp_path):
    org = load_org(example_org_dir)
    context = tmp_path / "envdelivery-context.yaml"
    context.write_text(yaml.safe_dump(context_defaults(example_org_dir, "platform")))
    jobs = render(context, example_org_dir / "teams/platform/jenkins")
    ci = jobs["platform/envtool-current-ci"]
    archived = text(ci, "publishers/hudson.tasks.ArtifactArchiver/artifacts")
    # The environment jobs fetch the provisioning tool by this glob (delivery.yaml).
    assert org["environments"]["provisioning-tool"]["artifact"] in archived
    # Runs on a fresh machine: the scripts of services/envtool, standard library Python only.
    assert [c.strip() for c in shell_commands(ci)[:2]] == ["sh ci/build.sh", "sh ci/validate.sh"]
    assert "dpkg-deb" in "".join(shell_commands(jobs["platform/envtool-current-package"]))
    deliver = jobs["platform/envtool-current-deliver"]
    bindings = deliver.findall(f"buildWrappers/{CB}SecretBuildWrapper/bindings/*")
    assert [b.tag.rsplit(".", 1)[1] for b in bindings] == ["FileBinding"]
    assert text(bindings[0], "credentialsId") == "platform-jenkins-agents-inventory"
    # The install script travels in the package: the deliver job has no checkout of the repository.
    assert "envtool-deploy/opt/envtool/deploy/install-on-agents.sh" in shell_commands(deliver)[-1]
