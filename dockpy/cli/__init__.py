"""The ``dockpy`` command line: argument parsing, dispatch and error rendering.

Each verb lives in a small module of this package that defines
``register(commands)``; it adds its sub-parser and sets ``handler`` to a
function ``(args) -> int``. Command modules import only the standard library
at module level: the library code a handler needs is imported inside the
handler, so ``dockpy --help`` never loads lark, zstandard or rich.

Only the module of the verb being run is imported and registered
(``COMMAND_VERBS`` says which): building all thirty sub-parsers costs more
than a whole ``dockpy run`` may take. ``--help``, an unknown verb or any
command line this module cannot read up front builds every sub-parser, so
argparse's own messages stay exactly as they are.
"""

from __future__ import annotations

from dockpy import collector

# A command's start (its imports, its parser) makes some 10,000 objects that live as long as the
# process: the collector is paused before them and resumes at the handler (``dockpy.collector``).
# Like the argparse message functions below, this holds for the whole process: importing this
# package is for the program; a process that calls ``main(argv)`` itself gets its collector back then.
collector.pause()

import argparse
import functools
import os
import re
import sys

from dockpy import __version__
from dockpy.errors import DockpyError, InvalidInputError

# verb -> the module that registers it, in the order the verbs appear in --help
# (a test keeps this in step with what the modules register).
COMMAND_VERBS: dict[str, str] = {
    "build": "dockpy.cli.build",
    "run": "dockpy.cli.run", "create": "dockpy.cli.run", "start": "dockpy.cli.run",
    **dict.fromkeys(("ps", "stop", "kill", "rm", "wait", "logs", "exec", "stats", "port"), "dockpy.cli.containers"),
    "commit": "dockpy.cli.commit", "images": "dockpy.cli.images", "history": "dockpy.cli.history",
    "inspect": "dockpy.cli.inspect", "tag": "dockpy.cli.tag", "rmi": "dockpy.cli.rmi", "log": "dockpy.cli.log",
    "rollback": "dockpy.cli.rollback", "diff": "dockpy.cli.diff", "import": "dockpy.cli.import_rootfs",
    "export": "dockpy.cli.export", "save": "dockpy.cli.archive", "load": "dockpy.cli.archive",
    "fsck": "dockpy.cli.fsck", "gc": "dockpy.cli.gc", "builder": "dockpy.cli.builder", "system": "dockpy.cli.system",
    "pull": "dockpy.cli.push_pull", "push": "dockpy.cli.push_pull", "login": "dockpy.cli.login",
    "logout": "dockpy.cli.login", "parse": "dockpy.cli.parse",
}
# Every command module once, in that order.
COMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(COMMAND_VERBS.values()))


# Docker commands dockpy spells otherwise: the hint an unknown command gets instead of "see --help".
DOCKER_SPELLINGS = {
    "prune": "dockpy gc removes what nothing reaches; dockpy builder prune empties the build cache.",
    "image": "dockpy has Docker's short forms only: dockpy images, rmi, history, inspect, tag, save, load.",
    "container": "dockpy has Docker's short forms only: dockpy ps, create, start, stop, kill, rm, logs, exec.",
}


class UsageError(InvalidInputError):
    """A command line that does not parse (unknown flag, missing argument)."""


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, sized without ``shutil``.

    argparse makes a formatter for every ``add_argument`` and sizes it with
    ``shutil.get_terminal_size``; importing ``shutil`` (with bz2 and lzma)
    costs a command that never prints help a few milliseconds. Same rule:
    ``$COLUMNS``, else the terminal on stdout, else 80 columns.
    """

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, width or _terminal_columns() - 2)


@functools.cache  # argparse makes a formatter per argument; the terminal does not change meanwhile
def _terminal_columns() -> int:
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad command line is a dockpy error (exit 125, like Docker)."""

    def __init__(self, *args, formatter_class=_HelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)

    def error(self, message: str):
        hint = f"See '{self.prog} --help'."
        unknown_command = re.match(r"argument COMMAND: invalid choice: '([^']*)'", message)
        if unknown_command:
            message = f"unknown command {unknown_command[1]!r}"
            hint = DOCKER_SPELLINGS.get(unknown_command[1], hint)
        elif self.prog != "dockpy":
            message = f"{self.prog.removeprefix('dockpy ')}: {message}"
        raise UsageError(message, hint=hint)


def _untranslated(message: str) -> str:
    return message


def _untranslated_plural(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


# argparse passes each of its messages through gettext, which searches the disk
# for a translation catalogue (importing ``locale`` to do it) on every call:
# ~2 ms a command. Python ships no catalogue for argparse, and dockpy's own
# messages are English, so argparse's are used as written.
argparse._ = _untranslated
argparse.ngettext = _untranslated_plural


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: with only the sub-parsers it can reach (all of them without ``argv``)."""
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
    for module_name in command_modules_for(argv):
        __import__(module_name)  # importlib.import_module, without importing importlib (~0.5 ms)
        sys.modules[module_name].register(commands)
    return parser


def command_modules_for(argv: list[str] | None) -> tuple[str, ...]:
    """The command modules parsing ``argv`` needs: the verb's own, none for ``--version``, else all."""
    position = _verb_position(argv) if argv is not None else None
    if position is None:
        return COMMAND_MODULES
    if argv[position] == "--version":
        return ()  # argparse prints the version and exits before it would reach a verb
    module_name = COMMAND_VERBS.get(argv[position])
    return (module_name,) if module_name else COMMAND_MODULES  # -h, abbreviations, unknown verbs


def _verb_position(argv: list[str]) -> int | None:
    """Where the verb should be: the first word that is not ``--debug``, ``--root DIR`` or ``--root=DIR``."""
    words = enumerate(argv)
    for index, word in words:
        if word == "--root":
            next(words, None)
        elif word != "--debug" and not word.startswith("--root="):
            return index
    return None


def main(argv: list[str] | None = None) -> int:
    """Run a command line and return its exit code; without ``argv``, this process's own, and end the process.

    Python's teardown (freeing every module and object one by one) costs a
    command such as ``dockpy run`` 10 ms or more: the program ends with
    ``os._exit`` instead, once nothing is left that needs the teardown.
    """
    if argv is not None:
        collector.resume(leave_out_what_exists=False)  # a caller's own process (the tests): as it was
        return run_command_line(argv)
    code = run_command_line(sys.argv[1:])
    if nothing_left_for_teardown():
        end_process(code)
    return code


def run_command_line(argv: list[str]) -> int:
    debug = "--debug" in argv
    try:
        args = parse_command_line(argv)
        if args.root:
            os.environ["DOCKPY_ROOT"] = os.path.abspath(args.root)
        collector.resume()
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


def parse_command_line(argv: list[str]) -> argparse.Namespace:
    """``parse_args``, but words no parser took are reported against the verb they followed, with its help."""
    args, leftovers = build_parser(argv).parse_known_args(argv)
    if not leftovers:
        return args
    words = " ".join(leftovers)
    position = _verb_position(argv)
    if argv.index(leftovers[0]) > position:
        raise UsageError(f"{argv[position]}: unrecognized arguments: {words}", hint=f"See 'dockpy {argv[position]} --help'.")
    raise UsageError(f"unrecognized arguments: {words}", hint="See 'dockpy --help'.")


def nothing_left_for_teardown() -> bool:
    """No thread that Python's exit would wait for and no ``atexit`` callback (temporary directories, logging) to run.

    Daemon threads do not count: Python's exit abandons them too. (A kvm run
    leaves one reaping each killed QEMU and virtiofsd, whose teardown in the
    kernel takes ~20-40 ms that the command need not wait for.)
    """
    import atexit

    threading = sys.modules.get("threading")
    others = () if threading is None else (thread for thread in threading.enumerate() if thread is not threading.main_thread())
    return atexit._ncallbacks() == 0 and all(thread.daemon for thread in others)


def end_process(code: int) -> None:
    """Close the databases, flush stdout and stderr, and exit without Python's teardown."""
    metadata = sys.modules.get("dockpy.metadata")
    if metadata is not None:
        metadata.close_open_connections()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # the reader went away, or the stream was closed (BrokenPipeError above)
            pass
    os._exit(code)


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
