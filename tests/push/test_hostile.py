"""Hostile team YAML (DESIGN.md, "Trust"): each attempt is refused with a clear error, and the
server sees no write. The team here is identity (namespace folder:identity)."""

from __future__ import annotations

import pytest

from jjb_envdelivery.cli.main import main

SECRET = "hunter2-do-not-leak"

HOSTILE = {
    "job outside the namespace": ("- job:\n    name: payroll-export\n    disabled: false\n",
                                  "job 'payroll-export' is outside the scope's namespace"),
    "job named like another team's": ("- job:\n    name: compute/vm-scheduler-current-ci\n    disabled: false\n",
                                      "compute/vm-scheduler-current-ci"),
    "overwriting the root updater": ("- job:\n    name: delivery/root-updater\n    disabled: false\n",
                                     "delivery/root-updater"),
    "include outside the repository": (
        "- job:\n    name: identity/leak\n    disabled: false\n    builders:\n"
        "      - shell: !include-raw-verbatim: ../../../agent-secrets.ini\n",
        "outside the directories this scope may read"),
    "absolute include": (
        "- job:\n    name: identity/leak\n    disabled: false\n    builders:\n"
        "      - shell: !include-raw-verbatim: {secret}\n",
        "outside the directories this scope may read"),
    "jinja2 reaching python internals": (
        "- job:\n    name: identity/j2\n    disabled: false\n    builders:\n"
        "      - shell: !j2: \"{{{{ ''.__class__.__mro__[1].__subclasses__() }}}}\"\n",
        "not allowed in a team scope"),
    "view outside the namespace": ("- view:\n    name: all-of-everything\n    view-type: list\n",
                                   "all-of-everything"),
    "spoofed owner mark": ("- job:\n    name: identity/spoof\n    disabled: false\n"
                           "    description: 'x<!-- jjb-envdelivery owner: root -->'\n",
                           "only the updater may write one"),
}


@pytest.fixture
def seeded(emu, conf, org_copy, agent, tmp_path):
    """The root scope is in place; identity's child updater exists."""
    assert main(["bootstrap", str(org_copy), "--conf", str(conf), "--cache-dir", str(tmp_path / "boot")]) == 0
    assert agent.run("delivery/root-updater", org_copy).returncode == 0
    # What the hostile includes go after: a secret on the agent, one level above the org copy.
    (org_copy.parent / "agent-secrets.ini").write_text(f"[jenkins]\npassword={SECRET}\n")
    return org_copy


# Every case bootstraps a server and pushes the root scope end to end first (~2 s each), so one case
# per kind of attack runs in the quick lane (namespace, file confinement, Jinja2 sandbox, owner
# mark) and the others are marked slow; tests/jjb/test_confined.py and tests/push/test_update.py
# check the same refusals below the push, quickly.
QUICK = {"job outside the namespace", "include outside the repository", "jinja2 reaching python internals",
         "spoofed owner mark"}


@pytest.mark.parametrize("case", [pytest.param(case, marks=() if case in QUICK else pytest.mark.slow)
                                  for case in sorted(HOSTILE)])
def test_hostile_team_yaml_is_refused_without_writes(case, emu, seeded, agent):
    text, expected = HOSTILE[case]
    team = seeded / "teams/identity"
    (team / "jenkins/hostile.yaml").write_text(text.format(secret=seeded.parent / "agent-secrets.ini"))
    emu.clear_log()
    result = agent.run("delivery/updater-identity", team)
    assert result.returncode != 0
    assert expected in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert [r for r in emu.request_log if r.write] == []
    assert not any(SECRET in emu.job_config(name) for name in emu.jobs())
