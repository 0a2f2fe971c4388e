"""The ``jjb-envdelivery`` command: one subcommand per module in this package."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from .. import __version__
from ..errors import EnvDeliveryError
from ..usage import UsageErrorParser
from . import context, demo, drift, emulator, env, graph, plan, render, update

SUBCOMMANDS = (demo, render, graph, plan, update, drift, env, context, emulator)

EXIT_CODES_EPILOG = """\
exit status:
  0   success (plan: nothing would change)
  1   error (plan: also when the update would refuse)
  2   plan: changes pending
  64  usage error (unknown option, missing or invalid argument)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = UsageErrorParser(
        prog="jjb-envdelivery",
        description="Generate, render and push the Jenkins jobs that deliver whole environments.",
        epilog=EXIT_CODES_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what JJB does")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                     parser_class=UsageErrorParser)
    for module in SUBCOMMANDS:
        module.add_parser(commands)
    return parser


class Terminated(SystemExit):
    """SIGTERM arrived: unwind (cleanup runs in ``finally`` and ``except BaseException``), exit 143."""


def _terminated(signum, _frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated(128 + signum)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((i for i, word in enumerate(argv) if not word.startswith("-")), None)
    if command is not None and argv[command] == "emulator":
        # The emulator parses its own options (argparse cannot pass `--help` through REMAINDER);
        # the global ones before it (`-v`) have no meaning there.
        return emulator.run_emulator(argv[command + 1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s: %(message)s")
    if args.verbose:
        # Our own debug messages too: what the fast path fell back from, and why.
        logging.getLogger("jjb_envdelivery").setLevel(logging.DEBUG)
    else:
        # JJB warns about its own deprecations on every run; they are not the user's problem.
        logging.getLogger("jenkins_jobs").setLevel(logging.ERROR)
        # A retried request is logged once per attempt; the error after the last one says it all.
        logging.getLogger("urllib3").setLevel(logging.ERROR)
    # Jenkins aborts a build with SIGTERM to its process tree (SIGKILL a few seconds later): raise
    # instead of dying at once, so environments are torn down and tools' process groups killed.
    on_main_thread = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGTERM, _terminated) if on_main_thread else None
    try:
        status = args.run(args)
        sys.stdout.flush()  # here, so a reader that went away is met below, not at interpreter exit
        return status
    except EnvDeliveryError as exc:
        print(f"jjb-envdelivery: error: {exc}", file=sys.stderr)
        return 1
    except Terminated as exc:
        print("jjb-envdelivery: terminated (SIGTERM) after cleaning up", file=sys.stderr)
        return exc.code
    except BrokenPipeError:
        # The reader went away (`env list | head -1`): stop quietly, as coreutils do. Point stdout
        # at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, before)  # main() also runs inside other programs (tests)


if __name__ == "__main__":
    sys.exit(main())
