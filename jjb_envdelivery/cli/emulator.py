"""``jjb-envdelivery emulator``: the Jenkins REST emulator on its own, for offline tests of job YAML."""

from __future__ import annotations

from ..testing.jenkins_emulator import main


def add_parser(commands) -> None:
    # Listed for `--help`; main() hands `emulator ...` to the emulator's own parser.
    commands.add_parser("emulator", help="run the Jenkins REST emulator on 127.0.0.1 (see `emulator --help`)")


def run_emulator(argv: list[str]) -> int:
    return main(argv)
