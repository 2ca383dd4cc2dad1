"""A comparable picture of a storage root, to assert that a failed command changed nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# SQLite's write-ahead log and shared memory come and go with connections; the lock file is empty.
_TRANSIENT = {"metadata.db", "metadata.db-wal", "metadata.db-shm", "gc.lock"}


def store_listing(root: Path) -> tuple[list[tuple[str, int]], list[str]]:
    """Every file below ``root`` with its size, and the database's logical content."""
    files = sorted(
        (str(path.relative_to(root)), path.lstat().st_size)
        for path in root.rglob("*")
        if path.name not in _TRANSIENT and not path.is_dir()
    )
    database = root / "metadata.db"
    if not database.exists():
        return files, []
    connection = sqlite3.connect(database)
    try:
        return files, list(connection.iterdump())
    finally:
        connection.close()
