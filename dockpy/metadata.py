"""The one SQLite database of a storage root.

Every change that must be all-or-nothing is one ``transaction``. WAL mode lets
readers proceed while one writer commits, and ``BEGIN IMMEDIATE`` takes the
write lock up front so two dockpy processes never deadlock upgrading a read
lock. Each package owns its tables: it passes its DDL to ``ensure_schema``,
which runs it only when something it creates is missing.
"""

from __future__ import annotations

import os
import sqlite3

# weakref's own WeakSet: the ``weakref`` module adds only what this one does not use
# (WeakValueDictionary, finalize...), at ~1 ms an import; ``threading`` imports it the same way.
from _weakrefset import WeakSet

from dockpy.errors import StoreError
from dockpy.root import DATABASE, StorageRoot

# Long enough for a concurrent gc or commit to finish; short enough to report a stuck lock.
BUSY_TIMEOUT_SECONDS = 60.0
# The statements ensure_schema can skip when what they name exists.
_NAMED_CREATES = (("CREATE", "TABLE", "IF", "NOT", "EXISTS"), ("CREATE", "INDEX", "IF", "NOT", "EXISTS"))


class MetadataConnection(sqlite3.Connection):
    """A connection that remembers which packages' schemas it has ensured, and which tables and indexes exist."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ensured_schemas: set[str] = set()
        self.schema_names: set[str] | None = None


# Every connection not yet garbage: a process ending without Python's teardown closes them first.
_open_connections: WeakSet[MetadataConnection] = WeakSet()


def close_open_connections() -> None:
    """Close every connection this process still has (closing one twice is harmless).

    Python's teardown would close them; a process that skips it (``dockpy.cli``)
    calls this instead, so SQLite still checkpoints and removes its WAL file
    as at any clean close, rather than recovering it as after a crash.
    """
    for connection in list(_open_connections):
        connection.close()


def open_database(root: StorageRoot) -> MetadataConnection:
    """Open (and create) the root's metadata database, in autocommit mode."""
    os.makedirs(root.directory, exist_ok=True)
    database = root.join(DATABASE)
    try:
        connection = sqlite3.connect(
            database,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,
            factory=MetadataConnection,
        )
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as error:
        raise StoreError(f"open metadata database {database}: {error}") from error
    _open_connections.add(connection)
    return connection


def ensure_schema(connection: MetadataConnection, owner: str, ddl: str) -> None:
    """Run ``ddl`` (``CREATE ... IF NOT EXISTS`` statements, no ``;`` inside) once per connection.

    When every table and index it creates exists already (all but the
    first time), it runs nothing: no write lock for a command that only reads.
    """
    if owner in connection.ensured_schemas:
        return
    statements = [part.strip() for part in ddl.split(";") if part.strip()]
    created = [_created_name(statement) for statement in statements]
    if None in created or not set(created) <= _schema_names(connection):
        with transaction(connection):
            for statement in statements:
                connection.execute(statement)
        connection.schema_names = None
    connection.ensured_schemas.add(owner)


def _created_name(statement: str) -> str | None:
    """The table or index a ``CREATE TABLE|INDEX IF NOT EXISTS name ...`` makes; None for any other statement."""
    words = statement.split(None, 6)
    if len(words) < 6 or tuple(word.upper() for word in words[:5]) not in _NAMED_CREATES:
        return None
    return words[5].partition("(")[0]


def _schema_names(connection: MetadataConnection) -> set[str]:
    """The tables and indexes in the database (read once per connection, as several packages ask)."""
    if connection.schema_names is None:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")
        connection.schema_names = {name for (name,) in rows}
    return connection.schema_names


class transaction:
    """``with transaction(connection):`` runs the block in ``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception.

    A class rather than a ``contextlib.contextmanager`` generator: commands
    that only read (``diff``, ``ps``, ``images``) then never import ``contextlib``.
    """

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise StoreError(f"begin metadata transaction: {error}") from error
        return self.connection

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is not None:
            self.connection.execute("ROLLBACK")
            return False  # the block's exception goes on
        try:
            self.connection.execute("COMMIT")
        except sqlite3.Error as error:
            raise StoreError(f"commit metadata transaction: {error}") from error
        return False
