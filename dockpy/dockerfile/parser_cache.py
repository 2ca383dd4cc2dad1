"""The Dockerfile grammar's built parser, kept between processes.

Building lark's LALR tables from ``dockerfile.lark`` costs more than the rest
of parsing a Dockerfile (60-90 ms); loading them back costs about 2 ms. Like
Python's ``__pycache__``, the built parser is kept in a file named by
everything it was built from (the grammar text, lark's version, Python's
version), so a change to any of them names another file and a stale parser
is never read. The files live in ``$XDG_CACHE_HOME/dockpy`` (default
``~/.cache/dockpy``): they are the user's, not the storage root's, since
``dockpy parse`` reads Dockerfiles without a store.

The file is lark's own save format, a pickle, so it is only loaded when it
belongs to this user and nobody else can write to it. It is written under a
unique temporary name and renamed into place: concurrent builds never see
half of one, and the last writer wins (they all write the same bytes).
Whatever goes wrong (no home, a read-only disk, a damaged file) means the
parser is built as before: the cache only ever saves time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from lark import Lark
from lark import __version__ as LARK_VERSION

CACHE_ENV = "XDG_CACHE_HOME"


def cached_parser(grammar: str, build: Callable[[], Lark]) -> Lark:
    """The parser ``build()`` makes from ``grammar``, loaded from the cache when it holds one."""
    path = cache_file(grammar)
    parser = _load(path)
    if parser is None:
        parser = build()
        _save(parser, path)
    return parser


def cache_file(grammar: str) -> Path:
    """Where the parser built from ``grammar`` is kept (named by grammar, lark and Python versions)."""
    key = hashlib.sha256(f"{grammar}\0{LARK_VERSION}\0{sys.version_info[:2]}".encode()).hexdigest()[:32]
    return cache_directory() / f"dockerfile-parser-{key}.pickle"


def cache_directory() -> Path:
    """``$XDG_CACHE_HOME/dockpy``, else ``~/.cache/dockpy``."""
    return Path(os.environ.get(CACHE_ENV) or os.path.expanduser("~/.cache")) / "dockpy"


def _load(path: Path) -> Lark | None:
    try:
        with open(path, "rb") as file:
            if not _is_private(os.fstat(file.fileno())):
                return None
            return Lark.load(file)
    except Exception:  # missing, unreadable or damaged: build it again (and replace it)
        return None


def _is_private(st: os.stat_result) -> bool:
    """Only this user could have written the file: unpickling it runs no one else's code."""
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _save(parser: Lark, path: Path) -> None:
    temporary = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), "wb") as file:
            parser.save(file)
        os.replace(temporary, path)
    except OSError:  # no home or a read-only one: this process simply built its own
        with contextlib.suppress(OSError):
            temporary.unlink()
