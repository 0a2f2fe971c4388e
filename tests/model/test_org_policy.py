"""The org file's grants to the job policy (`projects[].allow`, `policy`) and its `limits`
(issue 14): loaded into the model, and every mistake named with file, line and field. The
updater's label and credential can never be granted: they hold the token that rewrites jobs."""

from __future__ import annotations

import textwrap

import pytest

from jjb_envdelivery.errors import ConfigError
from jjb_envdelivery.model.limits import DEFAULT_LIMITS
from jjb_envdelivery.model.loader import load_organisation
from jjb_envdelivery.model.policy import ClassException, UnknownClasses

VALID = """\
organisation: acme
jobs-repo: {url: https://git.example.com/jobs.git, branch: main}
updater: {label: jjb, credential-id: jjb-ini}
release-lines:
  - {name: current, branch: release/1}
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
"""
PAYMENTS = "    services: [billing, ledger]\n"


def write(tmp_path, text):
    path = tmp_path / "delivery.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, text):
    with pytest.raises(ConfigError) as caught:
        load_organisation(write(tmp_path, text))
    return [str(p) for p in caught.value.problems], str(caught.value)


def with_allow(text: str) -> str:
    assert PAYMENTS in VALID
    return VALID.replace(PAYMENTS, PAYMENTS + text, 1)


def test_grants_load_and_the_repos_credential_comes_with_them(tmp_path):
    text = with_allow("    allow:\n      agent-labels: [pay-build, pay-big]\n      credentials: [pay-push]\n"
                      "      upstreams: [web-ui-current-deliver]\n      classes:\n"
                      "        - {class: hudson.plugins.groovy.SystemGroovy, reason: reviewed}\n")
    text = text.replace("payments.git, branch: main}", "payments.git, branch: main, credential-id: pay-git}")
    top = "policy: {unknown-classes: allow}\nlimits: {jobs: 50, jinja2-seconds: 2.5}\n"
    org = load_organisation(write(tmp_path, top + text))
    payments = org.project("payments")
    assert payments.allow.agent_labels == ("pay-build", "pay-big")
    assert payments.allow.classes == (ClassException("hudson.plugins.groovy.SystemGroovy", "reviewed"),)
    policy = org.team_policy(payments)
    assert policy.allow.credentials == ("pay-push", "pay-git")
    assert (policy.updater_label, policy.updater_credential) == ("jjb", "jjb-ini")
    assert policy.unknown_classes == UnknownClasses.ALLOW
    limits = DEFAULT_LIMITS.with_settings(org.limits)
    assert (limits.jobs, limits.jinja2_seconds, limits.yaml_bytes) == (50, 2.5, DEFAULT_LIMITS.yaml_bytes)


def test_nothing_is_granted_by_default(tmp_path):
    org = load_organisation(write(tmp_path, VALID))
    policy = org.team_policy(org.project("web"))
    assert (policy.allow.agent_labels, policy.allow.credentials, policy.allow.upstreams) == ((), (), ())
    assert policy.unknown_classes == UnknownClasses.REFUSE and org.limits == ()


@pytest.mark.parametrize("allow, expected", [
    ("    allow:\n      agent-labels: [jjb]\n",
     "delivery.yaml:12: projects[0].allow.agent-labels: 'jjb' is the updater's label"),
    ("    allow:\n      agent-labels: [built-in]\n",
     "delivery.yaml:12: projects[0].allow.agent-labels: 'built-in' is the controller's own label"),
    ("    allow:\n      agent-labels: ['a || b']\n",
     "delivery.yaml:12: projects[0].allow.agent-labels: 'a || b': expected a single label"),
    ("    allow:\n      credentials: [jjb-ini]\n",
     "delivery.yaml:12: projects[0].allow.credentials: 'jjb-ini' is the updater's credential"),
    ("    allow:\n      credentials: [a, a]\n", "delivery.yaml:12: projects[0].allow.credentials: 'a' is listed twice"),
    ("    allow:\n      upstreams: [/delivery/x]\n",
     "delivery.yaml:12: projects[0].allow.upstreams: '/delivery/x': expected a job's full name"),
    ("    allow:\n      upstreams: ['$JOB']\n", "projects[0].allow.upstreams: '$JOB': expected a job's full name"),
    ("    allow:\n      classes: [{class: SystemGroovy, reason: x}]\n",
     "delivery.yaml:12: projects[0].allow.classes[0].class: 'SystemGroovy': expected a Java class name"),
    ("    allow:\n      classes: [{class: a.B}]\n", "projects[0].allow.classes[0].reason: required key is missing"),
    ("    allow:\n      sandbox: false\n", "projects[0].allow.sandbox: unknown key 'sandbox'"),
])
def test_grant_mistakes_name_file_line_and_field(tmp_path, allow, expected):
    found, _ = problems(tmp_path, with_allow(allow))
    assert len(found) == 1 and expected in found[0], found


@pytest.mark.parametrize("top, expected", [
    ("policy: {unknown-classes: maybe}\n",
     "delivery.yaml:1: policy.unknown-classes: 'maybe': expected one of refuse, allow"),
    ("limits: {jobs: 0}\n", "delivery.yaml:1: limits.jobs: 0: expected a number above 0"),
    ("limits: {jobs: 2.5}\n", "delivery.yaml:1: limits.jobs: expected a whole number, got 2.5"),
    ("limits: {max-jobs: 5}\n", "delivery.yaml:1: limits.max-jobs: unknown key 'max-jobs'"),
])
def test_policy_and_limit_mistakes(tmp_path, top, expected):
    found, _ = problems(tmp_path, top + VALID)
    assert len(found) == 1 and expected in found[0], found
