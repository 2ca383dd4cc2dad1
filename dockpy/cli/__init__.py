"""The ``dockpy`` command line: argument parsing, dispatch and error rendering.

Each verb lives in a small module of this package that defines
``register(commands)``; it adds its sub-parser and sets ``handler`` to a
function ``(args) -> int``. Command modules import only the standard library
at module level: the library code a handler needs is imported inside the
handler, so ``dockpy --help`` never loads lark, zstandard or rich.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys

from dockpy import __version__
from dockpy.errors import DockpyError, InvalidInputError

# The command modules, in the order their verbs appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "dockpy.cli.build",
    "dockpy.cli.run",
    "dockpy.cli.containers",
    "dockpy.cli.commit",
    "dockpy.cli.images",
    "dockpy.cli.history",
    "dockpy.cli.inspect",
    "dockpy.cli.tag",
    "dockpy.cli.rmi",
    "dockpy.cli.log",
    "dockpy.cli.rollback",
    "dockpy.cli.diff",
    "dockpy.cli.import_rootfs",
    "dockpy.cli.export",
    "dockpy.cli.archive",
    "dockpy.cli.fsck",
    "dockpy.cli.gc",
    "dockpy.cli.system",
    "dockpy.cli.push_pull",
    "dockpy.cli.login",
    "dockpy.cli.parse",
)


class UsageError(InvalidInputError):
    """A command line that does not parse (unknown flag, missing argument)."""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad command line is a dockpy error (exit 125, like Docker)."""

    def error(self, message: str):
        unknown_command = re.match(r"argument COMMAND: invalid choice: '([^']*)'", message)
        if unknown_command:
            message = f"unknown command {unknown_command[1]!r}"
        elif self.prog != "dockpy":
            message = f"{self.prog.removeprefix('dockpy ')}: {message}"
        raise UsageError(message, hint=f"See '{self.prog} --help'.")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="dockpy",
        description="Build Dockerfiles into versioned OCI images and run them.",
    )
    parser.add_argument("--version", action="version", version=f"dockpy version {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="storage root (default: $DOCKPY_ROOT, /var/lib/dockpy as root, ~/.local/share/dockpy otherwise)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_ArgumentParser)
    commands.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.root:
            os.environ["DOCKPY_ROOT"] = os.path.abspath(args.root)
        return args.handler(args) or 0
    except DockpyError as error:
        if debug:
            raise
        _print_error(str(error), error.hint, getattr(error, "snippet", None), getattr(error, "column", None))
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (head, grep -q) went away; that is not our failure.
        sys.stderr.close()
        return 0
    except Exception as error:  # the one boundary where an unexpected failure becomes one line
        if debug:
            raise
        _print_error(f"internal error: {type(error).__name__}: {error}", "Run again with --debug for the traceback.")
        return 125


def _print_error(message: str, hint: str | None, snippet: str | None = None, column: int | None = None) -> None:
    print(f"dockpy: error: {message}", file=sys.stderr)
    if snippet is not None:
        # The offending source line, and a caret under the column when there is one.
        print(f"    {snippet}", file=sys.stderr)
        if column is not None:
            indent = "".join(c if c == "\t" else " " for c in snippet[: column - 1])
            print(f"    {indent}^", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
