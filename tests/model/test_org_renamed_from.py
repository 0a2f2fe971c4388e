"""``projects[].renamed-from``: a project's former name, checked with file, line and field."""

from __future__ import annotations

import textwrap

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
    repo: {url: https://git.example.com/payments.git, branch: main}
    jobs-path: jenkins
    services: [billing]
    RENAMED_A
  - name: web
    repo: {url: https://git.example.com/web.git, branch: main}
    jobs-path: jenkins
    services: [ui]
    RENAMED_B
"""


def load(tmp_path, a: str = "", b: str = "", text: str = ORG):
    path = tmp_path / "delivery.yaml"
    body = text.replace("RENAMED_A", a or "description: x").replace("RENAMED_B", b or "description: y")
    path.write_text(textwrap.dedent(body))
    return load_organisation(path)


def problems(tmp_path, **kw) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, **kw)
    return [str(p) for p in caught.value.problems]


def test_renamed_from_is_the_former_name(tmp_path):
    org = load(tmp_path, a="renamed-from: billing-team")
    assert org.project("payments").renamed_from == "billing-team"
    assert org.project("web").renamed_from is None


@pytest.mark.parametrize("a, b, expected", [
    ("renamed-from: 'bad name'", "", "delivery.yaml:16: projects[0].renamed-from: 'bad name' is not a valid name"),
    ("renamed-from: [x]", "", "delivery.yaml:16: projects[0].renamed-from: expected a string, got a list"),
    ("renamed-from: Payments", "", "delivery.yaml:16: projects[0].renamed-from: 'Payments' is the name of the "
     "project itself"),
    ("renamed-from: web", "", "delivery.yaml:16: projects[0].renamed-from: 'web' is the name of a project of "
     "this file"),
    ("renamed-from: old", "renamed-from: OLD", "delivery.yaml:21: projects[1].renamed-from: 'OLD' is already the "
     "former name of project 'payments'"),
])
def test_wrong_renamed_from_names_file_line_and_field(tmp_path, a, b, expected):
    found = problems(tmp_path, a=a, b=b)
    assert any(f"/{expected}" in p for p in found), found


def test_a_description_may_not_carry_a_mark(tmp_path):
    found = problems(tmp_path, a="description: 'x <!-- jjb-envdelivery manages: web folder:web -->'")
    assert any("/delivery.yaml:16: projects[0].description: holds an ownership mark" in p for p in found), \
        found


@pytest.mark.parametrize("name", ["root", "Root"])
def test_no_project_may_take_the_root_scopes_name(tmp_path, name):
    """Items the root updater writes carry the owner mark "root", and only root-owned items may say
    which scope a child updater manages: a project called root would own (and may forge) both."""
    found = problems(tmp_path, text=ORG.replace("  - name: web\n", f"  - name: {name}\n"))
    assert any(f"/delivery.yaml:17: projects[1].name: {name!r} is the root scope's name" in p for p in found), found
    found = problems(tmp_path, a=f"renamed-from: {name}")
    assert any("/delivery.yaml:16: projects[0].renamed-from: 'root' is the root scope's name" in p
               for p in found), found
