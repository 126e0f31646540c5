"""The ``tryon`` command line: ``tryon run --person P --garment G --out OUT`` and the
other commands, one module each (``run``, ``catalog``, ``serve``, ``weights``,
``dataset``, ``evaluate``); what they share is in ``tryon.cli.common``.

Exit codes: 0 success, 2 bad input or usage (one ``tryon: error: ...`` line on stderr),
1 unexpected error (one line; ``TRYON_DEBUG=1`` adds the traceback).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from typing import NoReturn

from tryon import __version__
from tryon.cli import catalog, dataset, evaluate, run, serve, train, weights
from tryon.cli.common import (
    DEBUG_VARIABLE,
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNEXPECTED,
    Commands,
    debugging,
    one_line,
    quiet_native_logs,
)
from tryon.errors import TryOnError
from tryon.process import configure_process

# The commands, in the order ``tryon --help`` lists them. Each module's
# ``register(commands)`` adds its parser and sets ``handler`` (parsed arguments -> exit
# code); a TryOnError the handler raises becomes the usual one-line error, exit code 2.
COMMANDS: tuple[Callable[[Commands], None], ...] = (
    run.register,
    catalog.register,
    serve.register,
    weights.register,
    dataset.register,
    evaluate.register,
    train.register,
)

DESCRIPTION = """\
Virtual try-on: dresses the person in one photo in the garment shown in
another photo. The result has the person photo's size; only the pixels of the
garment being replaced change."""

EPILOG = """\
exit codes:
  0  success
  2  bad input or usage: unreadable or too small photo, no person found, the
     body parts the garment needs not visible, unknown option or output type
  1  unexpected error (rerun with TRYON_DEBUG=1 to see the traceback)

example:
  tryon run --person me.jpg --garment shirt.jpg --out me_in_shirt.png

'tryon run --help' lists the options of run.
"""


class UsageError(Exception):
    """A command line argparse rejected; reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    """The ``tryon`` argument parser, with every command."""
    parser = _Parser(
        prog="tryon",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tryon {__version__}")
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    for register in COMMANDS:
        register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the command line.

    Args:
        argv: The arguments after ``tryon``; ``sys.argv[1:]`` when None.

    Returns:
        The exit code.
    """
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        return report_error(str(exc))
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    try:
        configure_process()  # before any command loads an engine
        handler: Callable[[argparse.Namespace], int] = args.handler
        # Every command runs with MediaPipe's native log lines filtered out of stderr; the
        # commands close their models' owners before returning, so no MediaPipe thread
        # writes after the filter ends, when the error line is printed.
        with quiet_native_logs():
            return handler(args)
    except TryOnError as exc:
        return report_error(str(exc))
    except KeyboardInterrupt:
        print("tryon: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debugging():
            traceback.print_exc()
        hint = "" if debugging() else f" (rerun with {DEBUG_VARIABLE}=1 to see the traceback)"
        message = one_line(f"{type(exc).__name__}: {exc}")
        print(f"tryon: unexpected error: {message}{hint}", file=sys.stderr)
        return EXIT_UNEXPECTED


def report_error(message: str) -> int:
    """Prints ``tryon: error: <message>`` as one line; returns the bad-input exit code."""
    print(f"tryon: error: {one_line(message)}", file=sys.stderr)
    if debugging():
        traceback.print_exc()
    return EXIT_BAD_INPUT
