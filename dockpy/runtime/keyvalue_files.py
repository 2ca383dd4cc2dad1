"""``--env-file`` and ``--label-file``: Docker's line format for ``KEY=VALUE`` files (moby's opts/envfile.go).

Each line is ``KEY=VALUE`` taken verbatim: no quotes are removed and no
variables expanded, so ``A="x"`` sets A to ``"x"`` with its quotes, as
Docker's does. Leading white space is dropped; empty lines and lines
starting with ``#`` are skipped. In an env file a ``KEY`` alone takes the
caller's value of KEY, or is left out when the caller has none; in a label
file it is left out.
"""

from __future__ import annotations

import os

from dockpy.errors import InvalidInputError, NotFoundError

_WHITESPACE = " \t"
_BYTE_ORDER_MARK = "\ufeff"


def read_env_files(paths) -> list[str]:
    """The ``K=V`` entries of every env file, in order (``-e`` flags come after them and win)."""
    return [entry for path in paths for entry in read_key_value_file(path, os.environ)]


def read_label_files(paths) -> list[str]:
    """The ``K=V`` entries of every label file, in order (``-l`` flags come after them and win)."""
    return [entry for path in paths for entry in read_key_value_file(path, None)]


def read_key_value_file(path: str, environment) -> list[str]:
    """The file's ``K=V`` entries; a bare ``K`` is looked up in ``environment`` (None: dropped)."""
    entries = []
    for line in _lines_of(path):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        name, has_value, value = line.partition("=")
        name = name.lstrip(_WHITESPACE)
        _check_name(name, line)
        if has_value:
            entries.append(f"{name}={value}")
        elif environment is not None and name in environment:
            entries.append(f"{name}={environment[name]}")
    return entries


def _check_name(name: str, line: str) -> None:
    if any(space in name for space in _WHITESPACE):
        raise InvalidInputError(f"poorly formatted environment: variable '{name}' contains whitespaces")
    if not name:
        raise InvalidInputError(f"poorly formatted environment: no variable name on line '{line}'")


def _lines_of(path: str) -> list[str]:
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        raise NotFoundError(f"open {path}: no such file or directory") from None
    except OSError as error:
        raise InvalidInputError(f"open {path}: {error.strerror.lower()}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InvalidInputError(f"env file {path} contains invalid utf8 bytes at line {line}") from None
    # Go's line scanner: lines end at "\n", a "\r" before it is dropped.
    return [line.removesuffix("\r") for line in text.removeprefix(_BYTE_ORDER_MARK).split("\n")]
