"""Variants name their Compose file (``variants[].compose``) for a provider that reads one (the
container provider): required there, refused by every other provider, checked for existence and
kept inside the org file's directory, each problem at its line."""

from __future__ import annotations

import pytest

from jjb_envdelivery.errors import ConfigError
from jjb_envdelivery.model.loader import load_organisation

ORG = """\
organisation: acme
jobs-repo:
  url: https://git.example.com/jobs.git
  branch: main
updater:
  label: jjb
  credential-id: jjb-ini
release-lines:
  - name: current
    branch: main
projects:
  - name: payments
    repo: {{url: https://git.example.com/payments.git, branch: main}}
    jobs-path: jenkins
    services: [billing]
environments:
  provisioning-tool: {{service: billing, artifact: 'dist/*.tgz', command: 'tool up'}}
  provider: {{name: {provider}}}
  variants:
    - name: small
      services: [billing]
{compose}"""
COMPOSE_LINE = 22  # the line of `compose:` when given


def load(tmp_path, provider: str, compose: str | None):
    (tmp_path / "envs").mkdir(exist_ok=True)
    (tmp_path / "envs" / "small.yaml").write_text("services: {billing: {image: localhost/billing:1}}\n")
    line = f"      compose: {compose}\n" if compose is not None else ""
    org_file = tmp_path / "delivery.yaml"
    org_file.write_text(ORG.format(provider=provider, compose=line))
    return load_organisation(org_file)


def problems(tmp_path, provider: str, compose: str | None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, provider, compose)
    return [str(p) for p in caught.value.problems]


def test_the_container_provider_gets_the_resolved_compose_file(tmp_path):
    org = load(tmp_path, "container", "envs/small.yaml")
    assert org.environments.variants[0].compose == (tmp_path / "envs" / "small.yaml").resolve()


def test_the_container_provider_needs_one_per_variant(tmp_path):
    [problem] = problems(tmp_path, "container", None)
    assert problem.startswith(f"{tmp_path / 'delivery.yaml'}:20: environments.variants[0].compose: required key")
    assert "Compose file" in problem


@pytest.mark.parametrize("provider", ["local", "command", "skytap"])
def test_other_providers_refuse_the_key(tmp_path, provider):
    found = [p for p in problems(tmp_path, provider, "envs/small.yaml") if ".compose" in p]
    assert len(found) == 1 and f":{COMPOSE_LINE}: environments.variants[0].compose:" in found[0]
    assert f"the {provider} provider reads no Compose file" in found[0]


@pytest.mark.parametrize("compose, message", [
    ("envs/missing.yaml", "no such file 'envs/missing.yaml'"),
    ("../outside.yaml", "must be a path inside the org file's directory"),
    ("/etc/passwd", "must be a path inside the org file's directory"),
    ("envs", "no such file 'envs'"),
    ("[a, b]", "expected a string"),
])
def test_a_bad_path_is_a_problem_at_its_line(tmp_path, compose, message):
    (tmp_path.parent / "outside.yaml").write_text("services: {}\n")
    found = problems(tmp_path, "container", compose)
    assert any(f":{COMPOSE_LINE}: environments.variants[0].compose:" in p and message in p for p in found), found
