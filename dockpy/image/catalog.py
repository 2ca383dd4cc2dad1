"""The image package's tables in the root's metadata database.

- ``images``: every manifest the store knows, with its image id (config
  digest), size, creation time and layer history, so that listings
  (``images``, ``history``) need not read blobs.
- ``revisions``: the history of each ``NAME:TAG``, numbered 1, 2, 3 ... per
  tag; the tag points at its highest-numbered revision.
- ``gc_roots``: what other packages keep alive. A container holds its image
  (``kind='image'``, target = image id), a build-cache entry holds its layer
  blob (``kind='blob'``). ``rmi`` refuses to drop the last tag of an image a
  container holds, and ``gc`` keeps everything a root reaches. Other packages
  add and remove their rows with ``add_root``/``remove_roots`` inside their
  own transactions, so a container record and its hold commit together.

Rows are written only after the blobs they name are durable; ``gc`` deletes
rows before blobs. So a committed row never points at a missing blob.
sqlite3 errors are translated to ``StoreError`` here, the package's one
boundary with SQLite.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections import namedtuple
from collections.abc import Iterator

from dockpy.errors import StoreError
from dockpy.image.reference import familiar_name
from dockpy.image.timestamps import format_timestamp
from dockpy.layers.digests import Digest
from dockpy.metadata import MetadataConnection, ensure_schema, open_database, transaction
from dockpy.root import StorageRoot

OPERATIONS = ("build", "commit", "tag", "pull", "load", "import", "rollback")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS images (
    manifest_digest TEXT PRIMARY KEY,
    image_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    created REAL,
    added REAL NOT NULL,
    layer_history TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS images_by_id ON images (image_id);
CREATE TABLE IF NOT EXISTS revisions (
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    number INTEGER NOT NULL CHECK (number >= 1),
    manifest_digest TEXT NOT NULL REFERENCES images (manifest_digest),
    time REAL NOT NULL,
    author TEXT NOT NULL,
    message TEXT NOT NULL,
    operation TEXT NOT NULL CHECK (operation IN {OPERATIONS!r}),
    PRIMARY KEY (repository, tag, number)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS revisions_by_manifest ON revisions (manifest_digest);
CREATE TABLE IF NOT EXISTS gc_roots (
    holder TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'blob')),
    target TEXT NOT NULL,
    PRIMARY KEY (holder, kind, target)
) WITHOUT ROWID
"""

# The newest revision of each tag: what the tag points at now.
_CURRENT = """
SELECT r.*, i.image_id, i.size, i.created FROM revisions r JOIN images i USING (manifest_digest)
WHERE r.number = (SELECT MAX(number) FROM revisions WHERE repository = r.repository AND tag = r.tag)
"""


_RevisionFields = namedtuple(
    "Revision", "repository tag number manifest_digest image_id time author message operation"
)


class Revision(_RevisionFields):
    """One entry of a tag's history. (Records here are namedtuples: see ``reference``.)"""

    __slots__ = ()

    @property
    def name_tag(self) -> str:
        return f"{familiar_name(self.repository)}:{self.tag}"

    @property
    def reference(self) -> str:
        """``NAME:TAG@N``: names exactly this revision."""
        return f"{self.name_tag}@{self.number}"

    def to_json(self) -> dict:
        return {
            "Revision": self.number, "Name": self.name_tag, "Id": self.image_id, "Digest": self.manifest_digest,
            "Time": format_timestamp(self.time), "Author": self.author, "Operation": self.operation,
            "Message": self.message,
        }

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Revision":
        return cls(
            row["repository"], row["tag"], row["number"], Digest(row["manifest_digest"]), Digest(row["image_id"]),
            row["time"], row["author"], row["message"], row["operation"],
        )


class ImageRow(namedtuple("ImageRow", "manifest_digest image_id size created added layer_history")):
    """What the catalog records about one manifest; ``layer_history`` is ``layer_history.encode_history``'s JSON."""

    __slots__ = ()

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "ImageRow":
        return cls(Digest(row["manifest_digest"]), Digest(row["image_id"]), row["size"], row["created"], row["added"],
                   row["layer_history"])


def open_catalog(root: StorageRoot) -> MetadataConnection:
    return ensure_catalog(open_database(root))


def ensure_catalog(connection: MetadataConnection) -> MetadataConnection:
    """``connection``, to a root's database opened by anyone, with the image tables (made once)."""
    with translated_errors("create image tables"):
        ensure_schema(connection, "image", SCHEMA)
    return connection


@contextlib.contextmanager
def translated_errors(action: str) -> Iterator[None]:
    """Turn an SQLite failure (disk full, corrupt database) into a one-line ``StoreError``."""
    try:
        yield
    except sqlite3.Error as error:
        raise StoreError(f"{action}: metadata database: {error}") from error


@contextlib.contextmanager
def write_transaction(connection: MetadataConnection, action: str) -> Iterator[MetadataConnection]:
    """One all-or-nothing change; ``action`` names it in errors."""
    with translated_errors(action), transaction(connection):
        yield connection


@contextlib.contextmanager
def read_snapshot(connection: MetadataConnection, action: str) -> Iterator[MetadataConnection]:
    """A consistent view across several queries (WAL: writers are not blocked)."""
    with translated_errors(action):
        connection.execute("BEGIN DEFERRED")
        try:
            yield connection
        finally:
            connection.execute("COMMIT")


def insert_image(connection: sqlite3.Connection, row: ImageRow) -> None:
    connection.execute(
        "INSERT OR IGNORE INTO images VALUES (?, ?, ?, ?, ?, ?)",
        (row.manifest_digest, row.image_id, row.size, row.created, row.added, row.layer_history),
    )


def image_row(connection: sqlite3.Connection, manifest_digest: Digest) -> ImageRow | None:
    row = connection.execute("SELECT * FROM images WHERE manifest_digest = ?", (manifest_digest,)).fetchone()
    return ImageRow.from_row(row) if row else None


def image_rows(connection: sqlite3.Connection) -> list[ImageRow]:
    return [ImageRow.from_row(row) for row in connection.execute("SELECT * FROM images ORDER BY added")]


def image_ids_with_prefix(connection: sqlite3.Connection, hex_prefix: str) -> list[Digest]:
    rows = connection.execute(
        "SELECT DISTINCT image_id FROM images WHERE image_id >= ? AND image_id < ?",
        (f"sha256:{hex_prefix}", f"sha256:{hex_prefix}g"),  # 'g' sorts after every hex digit
    )
    return [Digest(row[0]) for row in rows]


def newest_manifest_of_image(connection: sqlite3.Connection, image_id: Digest) -> Digest | None:
    """The manifest of ``image_id`` a tag used most recently (else the one stored last)."""
    row = connection.execute(
        """SELECT i.manifest_digest FROM images i LEFT JOIN revisions r USING (manifest_digest)
           WHERE i.image_id = ? ORDER BY MAX(COALESCE(r.time, 0), i.added) DESC LIMIT 1""",
        (image_id,),
    ).fetchone()
    return Digest(row[0]) if row else None


def manifests_of_image(connection: sqlite3.Connection, image_id: Digest) -> list[Digest]:
    rows = connection.execute("SELECT manifest_digest FROM images WHERE image_id = ?", (image_id,))
    return [Digest(row[0]) for row in rows]


def images_in_no_revision(connection: sqlite3.Connection) -> list[ImageRow]:
    """Untagged images (built without -t, or held only by a container), newest first."""
    rows = connection.execute(
        """SELECT * FROM images i WHERE NOT EXISTS (SELECT 1 FROM revisions r WHERE r.manifest_digest = i.manifest_digest)
           ORDER BY added DESC"""
    )
    return [ImageRow.from_row(row) for row in rows]


def images_only_in_earlier_revisions(connection: sqlite3.Connection) -> list[ImageRow]:
    """Images some tag's history names but no tag points at now (Docker would call them dangling), newest first."""
    rows = connection.execute(
        f"""SELECT * FROM images i
            WHERE EXISTS (SELECT 1 FROM revisions r WHERE r.manifest_digest = i.manifest_digest)
              AND i.manifest_digest NOT IN (SELECT manifest_digest FROM ({_CURRENT}))
            ORDER BY added DESC"""
    )
    return [ImageRow.from_row(row) for row in rows]


def tags_with_image_in_history(connection: sqlite3.Connection, image_id: Digest) -> list[str]:
    """``NAME:TAG`` of every tag with a revision (current or not) of ``image_id``."""
    rows = connection.execute(
        """SELECT DISTINCT r.repository, r.tag FROM revisions r JOIN images i USING (manifest_digest)
           WHERE i.image_id = ? ORDER BY r.repository, r.tag""",
        (image_id,),
    )
    return [f"{familiar_name(repository)}:{tag}" for repository, tag in rows]


def delete_images(connection: sqlite3.Connection, manifest_digests: list[Digest]) -> None:
    connection.executemany("DELETE FROM images WHERE manifest_digest = ?", [(d,) for d in manifest_digests])


def insert_revision(
    connection: sqlite3.Connection, repository: str, tag: str, manifest_digest: Digest,
    author: str, message: str, operation: str,
) -> int:
    """Append a revision to ``repository:tag``; returns its number (one more than the newest)."""
    (newest,) = connection.execute(
        "SELECT COALESCE(MAX(number), 0) FROM revisions WHERE repository = ? AND tag = ?", (repository, tag)
    ).fetchone()
    connection.execute(
        "INSERT INTO revisions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (repository, tag, newest + 1, manifest_digest, time.time(), author, message, operation),
    )
    return newest + 1


def revisions_of(connection: sqlite3.Connection, repository: str, tag: str) -> list[Revision]:
    """The tag's history, newest first."""
    rows = connection.execute(
        """SELECT r.*, i.image_id FROM revisions r JOIN images i USING (manifest_digest)
           WHERE repository = ? AND tag = ? ORDER BY number DESC""",
        (repository, tag),
    )
    return [Revision.from_row(row) for row in rows]


def revision(connection: sqlite3.Connection, repository: str, tag: str, number: int | None) -> Revision | None:
    """Revision ``number`` of the tag, or its current one when ``number`` is None."""
    query = """SELECT r.*, i.image_id FROM revisions r JOIN images i USING (manifest_digest)
               WHERE repository = ? AND tag = ?"""
    if number is None:
        row = connection.execute(query + " ORDER BY number DESC LIMIT 1", (repository, tag)).fetchone()
    else:
        row = connection.execute(query + " AND number = ?", (repository, tag, number)).fetchone()
    return Revision.from_row(row) if row else None


def current_revisions(connection: sqlite3.Connection) -> list[sqlite3.Row]:
    """Each tag's current revision joined with its image row, by name and tag."""
    return connection.execute(_CURRENT + " ORDER BY r.repository, r.tag").fetchall()


def current_tags_of_image(connection: sqlite3.Connection, image_id: Digest) -> list[Revision]:
    rows = connection.execute(
        f"SELECT * FROM ({_CURRENT}) WHERE image_id = ? ORDER BY repository, tag", (image_id,)
    )
    return [Revision.from_row(row) for row in rows]


def all_revisions(connection: sqlite3.Connection) -> list[Revision]:
    rows = connection.execute(
        """SELECT r.*, i.image_id FROM revisions r JOIN images i USING (manifest_digest)
           ORDER BY repository, tag, number"""
    )
    return [Revision.from_row(row) for row in rows]


def delete_tag(connection: sqlite3.Connection, repository: str, tag: str) -> set[Digest]:
    """Remove a tag with its whole history; returns the manifests its revisions named."""
    rows = connection.execute(
        "DELETE FROM revisions WHERE repository = ? AND tag = ? RETURNING manifest_digest", (repository, tag)
    ).fetchall()
    return {Digest(row[0]) for row in rows}


def add_root(connection: sqlite3.Connection, holder: str, kind: str, target: str) -> None:
    """Keep ``target`` (an image id for ``kind='image'``, a blob digest for ``'blob'``) alive for ``holder``."""
    connection.execute("INSERT OR IGNORE INTO gc_roots VALUES (?, ?, ?)", (holder, kind, target))


def remove_roots(connection: sqlite3.Connection, holder: str) -> None:
    connection.execute("DELETE FROM gc_roots WHERE holder = ?", (holder,))


def holders_of_image(connection: sqlite3.Connection, image_id: Digest) -> list[str]:
    rows = connection.execute("SELECT holder FROM gc_roots WHERE kind = 'image' AND target = ?", (image_id,))
    return [row[0] for row in rows]


def roots(connection: sqlite3.Connection) -> list[tuple[str, str, str]]:
    return [tuple(row) for row in connection.execute("SELECT holder, kind, target FROM gc_roots")]


def unreachable_images(connection: sqlite3.Connection) -> list[ImageRow]:
    """Images no revision names and no root holds: what gc drops."""
    rows = connection.execute(
        """SELECT * FROM images i
           WHERE NOT EXISTS (SELECT 1 FROM revisions r WHERE r.manifest_digest = i.manifest_digest)
             AND NOT EXISTS (SELECT 1 FROM gc_roots g WHERE g.kind = 'image' AND g.target = i.image_id)"""
    )
    return [ImageRow.from_row(row) for row in rows]


def blob_roots(connection: sqlite3.Connection) -> set[Digest]:
    return {Digest(row[0]) for row in connection.execute("SELECT target FROM gc_roots WHERE kind = 'blob'")}
