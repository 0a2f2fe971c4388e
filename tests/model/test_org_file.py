"""The org file loader: the example loads; every kind of mistake is reported with file,
line and field, and nothing is returned."""

from __future__ import annotations

import textwrap

import pytest

from jjb_envdelivery.errors import ConfigError
from jjb_envdelivery.model.loader import load_organisation
from jjb_envdelivery.model.organisation import NIGHTLY, Namespace

VALID = """\
organisation: acme
jobs-repo:
  url: https://git.example.com/jobs.git
  branch: main
updater:
  label: jjb
  credential-id: jjb-ini
release-lines:
  - name: current
    branch: release/1
  - name: upcoming
    branch: main
projects:
  - name: payments
    repo: {url: https://git.example.com/payments.git, branch: main}
    jobs-path: jenkins
    services: [billing, ledger]
  - name: web
    repo: {url: https://git.example.com/web.git, branch: main}
    jobs-path: jenkins
    namespace: {prefix: web-}
    services: [ui]
environments:
  provider: {name: local}
  provisioning-tool: {service: billing, artifact: 'dist/*.tgz', command: 'tool up'}
  variants:
    - name: small
      services: [billing, ui]
"""


def write(tmp_path, text):
    path = tmp_path / "delivery.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, text):
    with pytest.raises(ConfigError) as caught:
        load_organisation(write(tmp_path, text))
    return [str(p) for p in caught.value.problems], str(caught.value)


def test_valid_file_loads_with_defaults(tmp_path):
    org = load_organisation(write(tmp_path, VALID))
    assert org.name == "acme"
    assert org.root_folder == "delivery"
    assert org.updater.poll == "H/5 * * * *"
    assert [p.namespace for p in org.projects] == [Namespace("folder", "payments"), Namespace("prefix", "web-")]
    variant = org.environments.variants[0]
    assert variant.schedule == NIGHTLY and variant.retain == 5
    assert variant.release_lines == ("current", "upcoming")
    assert org.environments.agent_label == "envdelivery"


def test_directory_is_accepted(tmp_path):
    write(tmp_path, VALID)
    assert load_organisation(tmp_path).name == "acme"


def test_example_organisation_loads(example_org_dir):
    org = load_organisation(example_org_dir)
    assert len(org.projects) == 6
    assert sum(len(p.services) for p in org.projects) == 40
    assert [line.name for line in org.release_lines] == ["current", "previous", "upcoming"]
    assert [v.name for v in org.environments.variants] == ["minimal", "full", "almost-production"]


@pytest.mark.parametrize("org_dir", ["examples/example-org", "tests/graph/fixtures/tiny-org",
                                     "tests/render/fixtures/small-org"])
def test_shipped_organisations_load(repo_root, org_dir):
    org = load_organisation(repo_root / org_dir)
    assert org.environments.provider.name == "local"
    assert set(org.environments.provider.settings) == {"root", "clone", "command-timeout"}


def test_the_container_organisation_loads(repo_root):
    org = load_organisation(repo_root / "examples/container-org")
    assert org.environments.provider.name == "container"
    assert all(v.compose is not None and v.compose.is_file() for v in org.environments.variants)
    assert [v.name for v in org.environments.variants] == ["minimal", "full"]


def test_every_org_file_of_the_repository_is_listed_above(repo_root):
    found = {str(p.parent.relative_to(repo_root)) for top in ("examples", "tests")
             for p in (repo_root / top).rglob("delivery.yaml")}
    assert found == {"examples/example-org", "examples/container-org", "tests/graph/fixtures/tiny-org",
                     "tests/render/fixtures/small-org"}


@pytest.mark.parametrize("old, new, expected", [
    ("organisation: acme", "organisation: acme\ncolour: blue",
     "delivery.yaml:2: colour: unknown key 'colour'; expected one of"),
    ("  label: jjb", "  label: [jjb]", "delivery.yaml:6: updater.label: expected a string, got a list"),
    ("    branch: release/1\n", "", "delivery.yaml:9: release-lines[0].branch: required key is missing"),
    ("  - name: upcoming", "  - name: Current", "delivery.yaml:11: release-lines[1].name: duplicate name 'Current'"),
    ("services: [billing, ui]", "services: [billing, nope]",
     "delivery.yaml:28: environments.variants[0].services: unknown service 'nope'"),
    ("services: [ui]", "services: [billing]",
     "delivery.yaml:22: projects[1].services: service 'billing' is already owned by project 'payments'"),
    ("namespace: {prefix: web-}", "namespace: payments",
     "delivery.yaml:21: projects[1].namespace: namespace folder:payments clashes with namespace "
     "folder:payments of project 'payments'"),
    ("    jobs-path: jenkins\n    services: [billing, ledger]",
     "    jobs-path: jenkins\n    namespace: web-shop\n    services: [billing, ledger]",
     "projects[1].namespace: namespace prefix:web- clashes with namespace folder:web-shop of project 'payments'"),
    ("namespace: {prefix: web-}", "namespace: {prefix: web}",
     "projects[1].namespace.prefix: 'web' is not a valid name"),
    ("namespace: {prefix: web-}", "namespace: {folder: web, prefix: web-}",
     "projects[1].namespace: give exactly one of 'folder' or 'prefix'"),
    ("namespace: {prefix: web-}", "namespace: delivery",
     "clashes with namespace folder:delivery of the root folder"),
    ("    jobs-path: jenkins\n    namespace", "    jobs-path: ../../etc\n    namespace",
     "projects[1].jobs-path: '../../etc' must be a path inside the project's repository"),
    ("      services: [billing, ui]", "      services: [billing, ui]\n      schedule: sometimes",
     "environments.variants[0].schedule: 'sometimes' is not a schedule"),
    ("      services: [billing, ui]", "      services: [billing, ui]\n      retain: 0",
     "environments.variants[0].retain: must keep at least 1 template"),
    ("      services: [billing, ui]", "      services: [billing, ui]\n      retain: many",
     "environments.variants[0].retain: expected a whole number, got 'many'"),
    ("      services: [billing, ui]", "      services: [billing, ui]\n      release-lines: [past]",
     "environments.variants[0].release-lines: unknown release line 'past'"),
    ("service: billing,", "service: nope,", "environments.provisioning-tool.service: unknown service 'nope'"),
    ("  - name: payments", "  - name: pay/ments", "projects[0].name: 'pay/ments' is not a valid name"),
    ("organisation: acme\n", "organisation: acme\norganisation: other\n",
     "delivery.yaml:2: organisation: duplicate key 'organisation'"),
])
def test_mistakes_name_file_line_and_field(tmp_path, old, new, expected):
    assert old in VALID, old
    found, message = problems(tmp_path, VALID.replace(old, new, 1))
    assert any(expected in p for p in found), found
    assert str(tmp_path / "delivery.yaml") in message


def test_all_problems_are_reported_at_once(tmp_path):
    text = VALID.replace("  label: jjb", "  label: [jjb]").replace("services: [billing, ui]", "services: [x]")
    found, message = problems(tmp_path, text)
    assert len(found) == 2
    assert message.startswith("invalid organisation (2 problems):")


def test_not_yaml(tmp_path):
    found, _ = problems(tmp_path, "organisation: [unclosed\n")
    assert "not valid YAML" in found[0]


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b"])
@pytest.mark.parametrize("where", ["start", "later"])
def test_control_characters_are_a_problem_not_a_traceback(tmp_path, control, where):
    # PyYAML's reader refuses them with a ReaderError, which is not a MarkedYAMLError.
    text = control + VALID if where == "start" else VALID + f"# {control}\n"
    found, _ = problems(tmp_path, text)
    assert len(found) == 1 and "not valid YAML: character 0x" in found[0]


def test_empty_file(tmp_path):
    found, _ = problems(tmp_path, "")
    assert "the file is empty" in found[0]


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_organisation(tmp_path / "nowhere.yaml")


def test_not_a_mapping(tmp_path):
    found, _ = problems(tmp_path, "- just\n- a list\n")
    assert "expected a mapping" in found[0]


# -- git credentials and build timeouts (issue 13, defects 3 and 5) ---------------------------

def test_repositories_take_a_jenkins_credential_id(tmp_path):
    text = VALID.replace("  url: https://git.example.com/jobs.git\n",
                         "  url: https://git.example.com/jobs.git\n  credential-id: jobs-git-read\n")
    text = text.replace("repo: {url: https://git.example.com/payments.git, branch: main}",
                        "repo: {url: https://git.example.com/payments.git, branch: main, credential-id: pay-git}")
    org = load_organisation(write(tmp_path, text))
    assert org.jobs_repo.credential_id == "jobs-git-read"
    assert [p.repo.credential_id for p in org.projects] == ["pay-git", None]  # web clones anonymously


def test_build_timeouts_default_to_an_hour_everywhere(tmp_path):
    org = load_organisation(write(tmp_path, VALID))
    assert org.build_timeout == org.updater.build_timeout == org.environments.build_timeout == 60
    assert [v.build_timeout for v in org.environments.variants] == [60]


def test_build_timeouts_are_inherited_and_overridden(tmp_path):
    text = VALID.replace("organisation: acme\n", "organisation: acme\nbuild-timeout: 30\n")
    org = load_organisation(write(tmp_path, text))
    assert (org.build_timeout, org.updater.build_timeout, org.environments.build_timeout) == (30, 30, 30)
    assert org.environments.variants[0].build_timeout == 30

    text = text.replace("  credential-id: jjb-ini\n", "  credential-id: jjb-ini\n  build-timeout: 10\n")
    text = text.replace("  provider: {name: local}\n", "  provider: {name: local}\n  build-timeout: 90\n")
    text += "    - name: big\n      services: [billing, ui]\n      build-timeout: 240\n"
    org = load_organisation(write(tmp_path, text))
    assert (org.build_timeout, org.updater.build_timeout, org.environments.build_timeout) == (30, 10, 90)
    assert [(v.name, v.build_timeout) for v in org.environments.variants] == [("small", 90), ("big", 240)]


def test_the_example_sets_credentials_and_timeouts(example_org_dir):
    org = load_organisation(example_org_dir)
    assert org.jobs_repo.credential_id == "platform-git-read"
    assert all(p.repo.credential_id == f"{p.name}-git-read" for p in org.projects)
    assert (org.build_timeout, org.updater.build_timeout, org.environments.build_timeout) == (60, 20, 60)
    assert {v.name: v.build_timeout for v in org.environments.variants} == {
        "minimal": 60, "full": 60, "almost-production": 240}


TOO_SHORT = ("minutes is too short: expected at least 3 (the build-timeout plugin raises any shorter timeout "
             "to 3 minutes)")


@pytest.mark.parametrize("old, new, expected", [
    # Empty, null or malformed credential IDs, at the line of the value.
    ("  branch: main\nupdater", "  branch: main\n  credential-id: ''\nupdater",
     "delivery.yaml:5: jobs-repo.credential-id: must not be empty"),
    ("  branch: main\nupdater", "  branch: main\n  credential-id:\nupdater",
     "delivery.yaml:5: jobs-repo.credential-id: expected a string, got None"),
    ("  branch: main\nupdater", "  branch: main\n  credential-id: [a, b]\nupdater",
     "delivery.yaml:5: jobs-repo.credential-id: expected a string, got a list"),
    ("payments.git, branch: main}", "payments.git, branch: main, credential-id: 'my git'}",
     "delivery.yaml:15: projects[0].repo.credential-id: 'my git' is not a valid name"),
    ("payments.git, branch: main}", "payments.git, branch: main, credential-id: ''}",
     "delivery.yaml:15: projects[0].repo.credential-id: must not be empty"),
    ("  branch: main\nupdater", "  branch: main\n  credentials: x\nupdater",
     "delivery.yaml:5: jobs-repo.credentials: unknown key 'credentials'; expected one of: url, branch, "
     "local-checkout, credential-id"),
    # Timeouts: whole minutes, at least 3, at the line of the value.
    ("organisation: acme\n", "organisation: acme\nbuild-timeout: 2\n",
     f"delivery.yaml:2: build-timeout: 2 {TOO_SHORT}"),
    ("organisation: acme\n", "organisation: acme\nbuild-timeout: 0\n",
     f"delivery.yaml:2: build-timeout: 0 {TOO_SHORT}"),
    ("organisation: acme\n", "organisation: acme\nbuild-timeout: 1h\n",
     "delivery.yaml:2: build-timeout: expected a whole number, got '1h'"),
    ("organisation: acme\n", "organisation: acme\nbuild-timeout: 2.5\n",
     "delivery.yaml:2: build-timeout: expected a whole number, got 2.5"),
    ("organisation: acme\n", "organisation: acme\nbuild-timeout: '60'\n",
     "delivery.yaml:2: build-timeout: expected a whole number, got '60'"),
    ("organisation: acme\n", "organisation: acme\nbuild-timeout: true\n",
     "delivery.yaml:2: build-timeout: expected a whole number, got True"),
    ("  credential-id: jjb-ini\n", "  credential-id: jjb-ini\n  build-timeout: -5\n",
     f"delivery.yaml:8: updater.build-timeout: -5 {TOO_SHORT}"),
    ("  provider: {name: local}\n", "  provider: {name: local}\n  build-timeout: [60]\n",
     "delivery.yaml:25: environments.build-timeout: expected a whole number, got a list"),
    ("      services: [billing, ui]", "      services: [billing, ui]\n      build-timeout: 2",
     f"delivery.yaml:29: environments.variants[0].build-timeout: 2 {TOO_SHORT}"),
])
def test_credential_and_timeout_mistakes_name_file_line_and_field(tmp_path, old, new, expected):
    assert old in VALID, old
    found, message = problems(tmp_path, VALID.replace(old, new, 1))
    assert len(found) == 1 and expected in found[0], found  # and no follow-on problem
    assert str(tmp_path / "delivery.yaml") in message


def test_a_wrong_org_wide_timeout_is_reported_once(tmp_path):
    text = VALID.replace("organisation: acme\n", "organisation: acme\nbuild-timeout: 1\n")
    found, _ = problems(tmp_path, text)
    assert len(found) == 1 and "build-timeout: 1 minutes is too short" in found[0]
