"""The README's main command: the example organisation pushed into the emulator, end to end."""

from __future__ import annotations

import re

from jjb_envdelivery.cli.main import main


def test_demo_pushes_the_example_organisation(capsys, summary):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^Jenkins REST emulator at http://127\.0\.0\.1:\d+/ \(stores configuration, runs no builds\)$",
                     out, re.M)
    rows = summary(out)
    nothing = {"changed": 0, "deleted": 0, "kept": 0, "refused": 0, "failed": 0}
    assert rows["bootstrap"] == {"created": 2, "unchanged": 0, **nothing}
    # The root folder and the root updater exist since the bootstrap; the rest is new.
    assert rows["root"] == {"created": 50, "unchanged": 2, **nothing}
    for project, services in (("platform", 6), ("identity", 6), ("compute", 7), ("network", 7), ("storage", 6),
                              ("portal", 8)):
        assert rows[project] == {"created": services * 9, "unchanged": 0, **nothing}
    assert "400 jobs and folders and 12 views are stored" in out


def test_emulator_command_help(capsys):
    try:
        main(["emulator", "--help"])
    except SystemExit as exit:
        assert exit.code == 0
    assert "--state-dir" in capsys.readouterr().out
