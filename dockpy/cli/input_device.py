"""Docker's check that ``-it`` has a terminal to attach: ``the input device is not a TTY``.

A container's terminal relays what the user types; with ``-i`` and ``-t``
together, dockpy's standard input must be a terminal too, or there is nobody
typing (a pipe, a file, ``/dev/null`` in CI). Docker's CLI refuses that before
it creates anything (``CheckTty``), for ``run`` in the foreground and
``exec``; ``-t`` alone, or ``run -dit``, is accepted, as it is there.
"""

from __future__ import annotations

import functools
import os

from dockpy.errors import InvalidInputError


def check_input_is_a_terminal(interactive: bool, tty: bool) -> None:
    """Refuse ``-i`` with ``-t`` when standard input is no terminal, in Docker's words."""
    if interactive and tty and not os.isatty(0):
        raise InvalidInputError("the input device is not a TTY",
                                hint="drop -t to pipe input to the container, or run dockpy from a terminal")


def attached_run_needs_a_terminal(handler):
    """``run``'s handler, checking ``-it`` first unless ``-d`` attaches nothing (a decorator, so the check
    stays apart from how ``run`` runs)."""
    @functools.wraps(handler)
    def checked(args) -> int:
        if not args.detach:
            check_input_is_a_terminal(args.interactive, args.tty)
        return handler(args)
    return checked
