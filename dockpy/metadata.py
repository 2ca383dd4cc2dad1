"""The one SQLite database of a storage root.

Every change that must be all-or-nothing is one ``transaction``. WAL mode lets
readers proceed while one writer commits, and ``BEGIN IMMEDIATE`` takes the
write lock up front so two dockpy processes never deadlock upgrading a read
lock. Each package owns its tables: it passes its DDL to ``ensure_schema``,
which runs it once per connection.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from dockpy.errors import StoreError
from dockpy.root import StorageRoot

# Long enough for a concurrent gc or commit to finish; short enough to report a stuck lock.
BUSY_TIMEOUT_SECONDS = 60.0


class MetadataConnection(sqlite3.Connection):
    """A connection that remembers which packages' schemas it has ensured."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ensured_schemas: set[str] = set()


def open_database(root: StorageRoot) -> MetadataConnection:
    """Open (and create) the root's metadata database, in autocommit mode."""
    root.path.mkdir(parents=True, exist_ok=True)
    try:
        connection = sqlite3.connect(
            root.database,
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
        raise StoreError(f"open metadata database {root.database}: {error}") from error
    return connection


def ensure_schema(connection: MetadataConnection, owner: str, ddl: str) -> None:
    """Run ``ddl`` (``CREATE ... IF NOT EXISTS`` statements, no ``;`` inside) once per connection."""
    if owner in connection.ensured_schemas:
        return
    with transaction(connection):
        for statement in filter(None, (part.strip() for part in ddl.split(";"))):
            connection.execute(statement)
    connection.ensured_schemas.add(owner)


@contextlib.contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as error:
        raise StoreError(f"begin metadata transaction: {error}") from error
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    else:
        try:
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            raise StoreError(f"commit metadata transaction: {error}") from error
