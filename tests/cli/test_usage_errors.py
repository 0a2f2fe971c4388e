"""Usage errors exit 64 (EX_USAGE), never argparse's 2: `plan` exits 2 for "changes pending".

A script running `jjb-envdelivery plan ...; [ $? = 2 ] && jjb-envdelivery update ...` must not
go on to update when the plan command line has a typo.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jjb_envdelivery.cli.main import build_parser, main


def _exit_code(argv: list[str]) -> int | str | None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    return caught.value.code


def _subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(argv prefix, parser) of every subcommand, nested ones (`env build`) included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _subcommands(sub, (*path, name))


SUBCOMMANDS = [argv for argv, _ in _subcommands(build_parser())]


def test_usage_exit_code_is_neither_success_nor_changes_pending():
    from jjb_envdelivery.usage import EXIT_USAGE

    assert EXIT_USAGE == 64
    assert EXIT_USAGE not in (0, 1, 2)


def test_plan_unknown_option_exits_64_with_usage(capsys):
    assert _exit_code(["plan", "--bogus"]) == 64
    err = capsys.readouterr().err
    assert err.startswith("usage: jjb-envdelivery plan ")
    assert "jjb-envdelivery plan: error: " in err
    # With the required options given, argparse names the unknown one (from the top-level parser).
    assert _exit_code(["plan", "--scope", "root", "--conf", "jjb.ini", "--bogus"]) == 64
    err = capsys.readouterr().err
    assert err.startswith("usage: jjb-envdelivery ")
    assert "jjb-envdelivery: error: unrecognized arguments: --bogus" in err


def test_plan_missing_required_arguments_exits_64_with_usage(capsys):
    assert _exit_code(["plan"]) == 64
    err = capsys.readouterr().err
    assert err.startswith("usage: jjb-envdelivery plan ")
    assert "jjb-envdelivery plan: error: the following arguments are required: --scope, --conf" in err


def test_nested_subcommand_missing_arguments_exits_64(capsys):
    assert _exit_code(["env", "build"]) == 64
    err = capsys.readouterr().err
    assert err.startswith("usage: jjb-envdelivery env build ")
    assert "the following arguments are required: --variant, --release" in err


@pytest.mark.parametrize("argv", [
    [],                                        # no command
    ["no-such-command"],                       # invalid choice
    ["env"],                                   # missing nested command
    ["env", "no-such-command"],
    ["render", "org", "-o", "out", "--processes", "many"],  # a type error
    ["env", "verify", "--template", "t", "--latest"],        # mutually exclusive options
])
def test_other_usage_errors_exit_64(argv, capsys):
    assert _exit_code(argv) == 64
    assert "usage: jjb-envdelivery" in capsys.readouterr().err


@pytest.mark.parametrize("argv", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_unknown_option_exits_64(argv, capsys):
    assert _exit_code([*argv, "--no-such-option"]) == 64
    err = capsys.readouterr().err
    # A subcommand's own error (a missing required option) or the top level's (unrecognized).
    assert err.startswith("usage: jjb-envdelivery ")
    assert re.search(r"^jjb-envdelivery[\w -]*: error: ", err, re.M)


def test_every_parser_is_the_usage_error_parser():
    """Nested subparsers (`env build`) inherit the class from add_subparsers."""
    from jjb_envdelivery.usage import UsageErrorParser

    parser = build_parser()
    assert type(parser) is UsageErrorParser
    assert ("env", "build") in SUBCOMMANDS
    for argv, sub in _subcommands(parser):
        assert type(sub) is UsageErrorParser, argv


def test_emulator_usage_errors_exit_64(capsys):
    assert _exit_code(["emulator", "--nope"]) == 64
    err = capsys.readouterr().err
    assert err.startswith("usage: jjb-envdelivery emulator ")
    assert "unrecognized arguments: --nope" in err
    assert _exit_code(["emulator", "--user", "no-colon"]) == 64
    assert "expected NAME:SECRET" in capsys.readouterr().err


def test_emulator_module_usage_errors_exit_64(capsys):
    """The emulator's own entry point (it imports nothing of the CLI) exits the same way."""
    from jjb_envdelivery.testing.jenkins_emulator import main as emulator_main

    with pytest.raises(SystemExit) as caught:
        emulator_main(["--port", "not-a-number"])
    assert caught.value.code == 64
    assert "jjb-envdelivery emulator: error: argument --port: invalid int value" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        emulator_main(["--help"])
    assert caught.value.code == 0


@pytest.mark.parametrize("argv", [["--help"], ["plan", "--help"], ["env", "build", "--help"], ["--version"]])
def test_help_and_version_exit_0(argv, capsys):
    assert _exit_code(argv) == 0
    assert capsys.readouterr().out


def test_help_documents_the_exit_codes(capsys):
    assert _exit_code(["--help"]) == 0
    out = capsys.readouterr().out
    epilog = out[out.index("exit status:"):]
    for line in ("0   success", "1   error", "2   plan: changes pending", "64  usage error"):
        assert line in epilog


def test_installed_command_exits_64_on_a_usage_error():
    """The console script, as a shell script would run it."""
    script = Path(sys.executable).with_name("jjb-envdelivery")
    result = subprocess.run([script, "plan", "--nope"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 64
    assert result.stdout == ""
    assert result.stderr.startswith("usage: jjb-envdelivery plan ")
    assert "jjb-envdelivery plan: error: the following arguments are required: --scope, --conf" in result.stderr
    assert "Traceback" not in result.stderr


def test_module_entry_point_exits_64_on_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "jjb_envdelivery.cli.main", "env", "build"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 64
    assert "jjb-envdelivery env build: error:" in result.stderr


def test_global_options_before_emulator_reach_the_emulator_parser(capsys):
    """`-v emulator --bogus` was an AttributeError: the emulator's subparser sets no `run`."""
    with pytest.raises(SystemExit) as exit_info:
        main(["-v", "emulator", "--bogus"])
    assert exit_info.value.code == 64
    assert "jjb-envdelivery emulator" in capsys.readouterr().err


def test_emulator_with_an_unreadable_plugins_file_is_an_error_not_a_usage_error(tmp_path, capsys):
    assert main(["emulator", "--plugins", str(tmp_path / "missing.json")]) == 1
    assert "missing.json" in capsys.readouterr().err
