"""The command lines' parser: usage errors exit 64 (sysexits.h EX_USAGE), not argparse's 2.

argparse's 2 is what `plan` means by "changes pending" (as `terraform plan -detailed-exitcode`),
so a typo must not exit 2. Every command line of the package uses this parser, the emulator's too
(this module imports nothing of the package, so the emulator may use it).
"""

from __future__ import annotations

import argparse
import sys

EXIT_USAGE = 64


class UsageErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors exit EXIT_USAGE.

    ``add_subparsers`` makes its subparsers of the parser's own class, so every subcommand
    (and nested subcommand, such as ``env build``) exits the same way.
    """

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")
