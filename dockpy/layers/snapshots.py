"""The snapshotter: unpacked layers in numbered directories, handed out as mounts.

Vocabulary (containerd's, used the same way throughout):

- *key*: an **active** snapshot, made by ``prepare`` (writable) or ``view``
  (read-only). It is a transaction on a filesystem: mount it, change it,
  then ``commit`` it or ``remove`` it.
- *name*: a **committed** snapshot, made by ``commit``; immutable, and the
  only kind that can be a parent. Layers are committed under their ChainID.
- *parent*: the committed snapshot an active or committed one sits on; None
  is the empty directory.

Keys and names share one namespace: an active snapshot may not take a
committed one's name. Mounts are returned as data (``dockpy.layers.mounts``
performs them), so callers decide where and in which namespace to mount.

Importing a layer (what the image store's "unpack" does)::

    snapshotter.prepare("extract-<random>", parent=parent_chain_id)
    apply_layer(tar, snapshotter.directory("extract-<random>"), whiteout_mode="overlay")
    snapshotter.commit(chain_id, "extract-<random>")

The applier writes into the active snapshot's ``fs`` dir directly, in
overlay form (whiteouts as 0/0 devices), with no mount at all; the next
layer is prepared with this one as its parent, and so on up the chain.

Running a container or a build step::

    mounts = snapshotter.prepare(container_key, parent=image_top_chain_id)
    mount_all(mounts, rootfs)                   # overlay: lower = layers, upper = fs
    ...                                         # the process writes into fs
    list_changes(snapshotter.directory(container_key), lower_dirs)   # docker diff
    snapshotter.commit(new_chain_id, container_key)                  # or remove(container_key)

On disk each snapshot is ``<root>/snapshots/<id>/fs`` (its files; the
overlay upper dir while active) and ``<id>/work`` (overlayfs' work dir),
where ``<id>`` is a short number so that hundreds of lower dirs still fit in
a mount's option string. The metadata DB holds one row per snapshot.

Crash safety: each state change is one SQLite transaction taken with the
write lock (``BEGIN IMMEDIATE``), which also makes concurrent processes on
one root safe. ``prepare`` creates the directories inside that transaction,
before the row is committed, so a crash leaves at most a directory without a
row; ``remove`` deletes the row first and the directory after. ``cleanup``
removes such orphan directories. Ids come from ``AUTOINCREMENT``, so a
committed id is never handed out again while its directory is being removed.
"""

from __future__ import annotations

import enum
import os
import sqlite3
import time
from collections import namedtuple
from collections.abc import Sequence
from datetime import datetime, timezone

from dockpy.errors import ConflictError, InvalidInputError, NotFoundError, StoreError
from dockpy.layers.durability import fsync_directory
from dockpy.layers.mounts import OVERLAY_MAX_LOWER_LAYERS, Mount
from dockpy.metadata import MetadataConnection, ensure_schema, open_database, transaction
from dockpy.root import SNAPSHOTS, TMP, StorageRoot

# typing.TYPE_CHECKING without importing typing (type checkers read any constant of this name as it).
TYPE_CHECKING = False
if TYPE_CHECKING:  # pathlib is imported where a Path is made: ``run`` looks snapshots up without it
    from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
    parent_id INTEGER REFERENCES snapshots(id) ON DELETE RESTRICT,
    created REAL NOT NULL,
    size INTEGER,
    inodes INTEGER
);
CREATE INDEX IF NOT EXISTS snapshots_by_parent ON snapshots(parent_id)
"""

_SELECT = """
SELECT s.id, s.name, s.kind, s.parent_id, s.created, s.size, s.inodes, p.name AS parent
FROM snapshots s LEFT JOIN snapshots p ON p.id = s.parent_id
"""

# The ids of a snapshot and its ancestors, itself first.
_CHAIN = """
WITH RECURSIVE chain(id, parent_id, depth) AS (
    SELECT id, parent_id, 0 FROM snapshots WHERE id = ?
    UNION ALL
    SELECT s.id, s.parent_id, chain.depth + 1 FROM snapshots s JOIN chain ON s.id = chain.parent_id
)
SELECT id FROM chain ORDER BY depth
"""

# Explicit, so a kernel whose defaults differ still leaves a plain diff in the upper dir:
# no redirects or metacopy files (a layer tar cannot express them) and no inode index.
OVERLAY_OPTIONS = ("index=off", "redirect_dir=off", "metacopy=off")


class Kind(str, enum.Enum):
    ACTIVE = "active"
    VIEW = "view"
    COMMITTED = "committed"


class SnapshotInfo(namedtuple("SnapshotInfo", "name kind parent created directory")):
    """What ``stat`` and ``walk`` report: ``kind`` a ``Kind``, ``parent`` a name or None,
    ``created`` an aware ``datetime``, ``directory`` the snapshot's ``fs`` dir (a Path).

    A namedtuple: ``dockpy run`` finds its image's snapshots here and must not pay for ``dataclasses``.
    """

    __slots__ = ()


class Usage(namedtuple("Usage", "size inodes")):
    """Disk used by one snapshot alone (not its parents): allocated bytes and distinct inodes."""

    __slots__ = ()


class Snapshotter:
    """The snapshots of one storage root (see the module docstring for the vocabulary)."""

    def __init__(self, root: StorageRoot, connection: MetadataConnection | None = None):
        """``connection``: the caller's open connection to the root's database, to share (the caller closes it).

        Without one, the snapshotter opens its own when first needed, and ``close`` closes it.
        """
        self.root = root
        self._connection = connection
        self._own_connection: MetadataConnection | None = None

    @property
    def connection(self) -> MetadataConnection:
        if self._connection is None:
            self._connection = self._own_connection = open_database(self.root)
        if "layers.snapshots" not in self._connection.ensured_schemas:
            os.makedirs(self.root.join(SNAPSHOTS), exist_ok=True)
            os.makedirs(self.root.join(TMP), exist_ok=True)
            ensure_schema(self._connection, "layers.snapshots", _SCHEMA)
        return self._connection

    def close(self) -> None:
        if self._own_connection is not None:
            self._own_connection.close()
            self._own_connection = None
        self._connection = None

    def __enter__(self) -> Snapshotter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def prepare(self, key: str, parent: str | None = None) -> list[Mount]:
        """A new writable active snapshot ``key`` on ``parent``; returns how to mount it."""
        return self._create(key, parent, Kind.ACTIVE)

    def view(self, key: str, parent: str | None = None) -> list[Mount]:
        """A new read-only active snapshot ``key`` showing ``parent``; it cannot be committed."""
        return self._create(key, parent, Kind.VIEW)

    def mounts(self, key: str) -> list[Mount]:
        """The mounts of the active snapshot ``key`` again (after prepare or view)."""
        row = self._row(self.connection, key)
        if row["kind"] == Kind.COMMITTED:
            raise InvalidInputError(
                f"snapshot {key} is committed and cannot be mounted itself",
                hint="prepare or view a new key with it as the parent",
            )
        return self._mounts(row, self._parent_dirs(self.connection, row["parent_id"]))

    def commit(self, name: str, key: str) -> None:
        """Turn the active snapshot ``key`` into the committed snapshot ``name`` (typically a ChainID)."""
        row = self._row(self.connection, key)
        if row["kind"] != Kind.ACTIVE:
            raise InvalidInputError(f"cannot commit snapshot {key}: it is {row['kind']}, not a prepared key")
        # Measured before taking the write lock: this walks the whole layer.
        usage = disk_usage(self._fs(row["id"]))
        with transaction(self.connection) as db:
            current = self._row(db, key)
            if current["id"] != row["id"] or current["kind"] != Kind.ACTIVE:
                raise ConflictError(f"snapshot {key} changed while it was being committed")
            try:
                db.execute(
                    "UPDATE snapshots SET name = ?, kind = ?, size = ?, inodes = ? WHERE id = ?",
                    (name, Kind.COMMITTED.value, usage.size, usage.inodes, row["id"]),
                )
            except sqlite3.IntegrityError as error:
                raise ConflictError(f"snapshot {name} already exists") from error

    def remove(self, key_or_name: str) -> None:
        """Remove an active or committed snapshot; refused while others are based on it."""
        with transaction(self.connection) as db:
            row = self._row(db, key_or_name)
            (children,) = db.execute("SELECT count(*) FROM snapshots WHERE parent_id = ?", (row["id"],)).fetchone()
            if children:
                raise ConflictError(
                    f"cannot remove snapshot {key_or_name}: {children} snapshot(s) are based on it",
                    hint="remove those first",
                )
            db.execute("DELETE FROM snapshots WHERE id = ?", (row["id"],))
        # The row is gone, so the snapshot is; a directory left by a failure here is an orphan for cleanup().
        _remove_tree(self.root.snapshots / str(row["id"]), ignore_errors=True)

    def stat(self, key_or_name: str) -> SnapshotInfo:
        return self._info(self._row(self.connection, key_or_name))

    def walk(self) -> list[SnapshotInfo]:
        """Every snapshot, oldest first."""
        rows = self.connection.execute(_SELECT + " ORDER BY s.id").fetchall()
        return [self._info(row) for row in rows]

    def usage(self, key_or_name: str) -> Usage:
        """Disk used by the snapshot itself: recorded at commit, measured now for active ones."""
        row = self._row(self.connection, key_or_name)
        if row["kind"] == Kind.COMMITTED:
            return Usage(row["size"], row["inodes"])
        return disk_usage(self._fs(row["id"]))

    def directory(self, key_or_name: str) -> Path:
        """The snapshot's ``fs`` dir: its own files, in overlay form (the layer applier writes here)."""
        return self._fs(self._row(self.connection, key_or_name)["id"])

    def committed_directories(self, names: Sequence[str]) -> list[str] | None:
        """The ``fs`` dirs (str) of the committed snapshots ``names``, in order; None unless all are committed."""
        if not names:
            return []
        placeholders = ", ".join("?" * len(names))
        rows = self.connection.execute(
            f"SELECT name, id FROM snapshots WHERE kind = 'committed' AND name IN ({placeholders})", tuple(names)
        )
        ids = dict(rows.fetchall())
        if any(name not in ids for name in names):
            return None
        return [self._fs_directory(ids[name]) for name in names]

    def cleanup(self) -> list[Path]:
        """Remove the directories no snapshot owns (left by crashes); returns what was removed."""
        with transaction(self.connection) as db:
            owned = {str(snapshot_id) for (snapshot_id,) in db.execute("SELECT id FROM snapshots")}
            orphans = [path for path in self.root.snapshots.iterdir() if path.name not in owned]
            # Moved aside under the lock: a prepare may reuse a crashed prepare's id once we let go.
            doomed = [self._move_aside(path) for path in orphans]
        for path in doomed:
            _remove_tree(path, ignore_errors=True)
        return orphans

    def _create(self, key: str, parent: str | None, kind: Kind) -> list[Mount]:
        with transaction(self.connection) as db:
            parent_id = self._committed_parent_id(db, parent)
            parent_dirs = self._parent_dirs(db, parent_id)
            if len(parent_dirs) > OVERLAY_MAX_LOWER_LAYERS:
                raise InvalidInputError(
                    f"cannot mount {len(parent_dirs)} layers: overlayfs stacks at most "
                    f"{OVERLAY_MAX_LOWER_LAYERS} lower layers",
                    hint="flatten the image (export it, then import the tar) to use it",
                )
            try:
                cursor = db.execute(
                    "INSERT INTO snapshots (name, kind, parent_id, created) VALUES (?, ?, ?, ?)",
                    (key, kind.value, parent_id, time.time()),
                )
            except sqlite3.IntegrityError as error:
                raise ConflictError(f"snapshot {key} already exists") from error
            self._make_directories(cursor.lastrowid, kind)
            row = self._row(db, key)
        return self._mounts(row, parent_dirs)

    def _make_directories(self, snapshot_id: int, kind: Kind) -> None:
        """``<id>/fs`` (and ``<id>/work`` for writable ones), durable before the row commits."""
        path = self.root.snapshots / str(snapshot_id)
        try:
            if path.exists():  # a crashed prepare held this id; its row was rolled back
                _remove_tree(self._move_aside(path))
            path.mkdir()
            (path / "fs").mkdir(mode=0o755)
            if kind == Kind.ACTIVE:
                (path / "work").mkdir(mode=0o711)
            fsync_directory(self.root.snapshots)
        except OSError as error:
            _remove_tree(path, ignore_errors=True)
            raise StoreError(f"create snapshot directory {path}: {error.strerror}") from error

    def _mounts(self, row: sqlite3.Row, parent_dirs: list[str]) -> list[Mount]:
        fs = self._fs_directory(row["id"])
        if row["kind"] == Kind.ACTIVE:
            if not parent_dirs:
                return [Mount("bind", fs, ("rw",))]
            work = str(self.root.snapshots / str(row["id"]) / "work")
            return [Mount("overlay", "overlay", OVERLAY_OPTIONS, tuple(parent_dirs), upperdir=fs, workdir=work)]
        # A view: overlayfs wants two lower dirs at least when there is no upper one.
        if len(parent_dirs) < 2:
            return [Mount("bind", parent_dirs[0] if parent_dirs else fs, ("ro",))]
        return [Mount("overlay", "overlay", OVERLAY_OPTIONS, tuple(parent_dirs))]

    def _parent_dirs(self, db: sqlite3.Connection, snapshot_id: int | None) -> list[str]:
        """The ``fs`` dirs from ``snapshot_id`` down to the bottom layer (top-most first)."""
        if snapshot_id is None:
            return []
        ids = [row[0] for row in db.execute(_CHAIN, (snapshot_id,))]
        return [self._fs_directory(i) for i in ids]

    def _committed_parent_id(self, db: sqlite3.Connection, parent: str | None) -> int | None:
        if parent is None:
            return None
        row = self._row(db, parent)
        if row["kind"] != Kind.COMMITTED:
            raise InvalidInputError(f"snapshot {parent} is {row['kind']}: only a committed snapshot can be a parent")
        return row["id"]

    def _row(self, db: sqlite3.Connection, key_or_name: str) -> sqlite3.Row:
        row = db.execute(_SELECT + " WHERE s.name = ?", (key_or_name,)).fetchone()
        if row is None:
            raise NotFoundError(f"snapshot {key_or_name} does not exist")
        return row

    def _info(self, row: sqlite3.Row) -> SnapshotInfo:
        created = datetime.fromtimestamp(row["created"], timezone.utc)
        return SnapshotInfo(row["name"], Kind(row["kind"]), row["parent"], created, self._fs(row["id"]))

    def _fs(self, snapshot_id: int) -> Path:
        from pathlib import Path

        return Path(self._fs_directory(snapshot_id))

    def _fs_directory(self, snapshot_id: int) -> str:
        return self.root.join(SNAPSHOTS, str(snapshot_id), "fs")

    def _move_aside(self, path: Path) -> Path:
        import uuid  # here: it imports platform, and only crash recovery needs it

        aside = self.root.tmp / f"snapshot-removed-{path.name}-{uuid.uuid4().hex[:8]}"
        os.rename(path, aside)
        return aside


def disk_usage(directory: Path) -> Usage:
    """Allocated bytes and distinct inodes under ``directory`` (hard links counted once)."""
    seen: set[int] = set()
    size = 0
    for parent, dirnames, filenames in os.walk(directory):
        for name in (".", *dirnames, *filenames):
            status = os.lstat(os.path.join(parent, name))
            if status.st_ino not in seen:
                seen.add(status.st_ino)
                size += status.st_blocks * 512
    return Usage(size, len(seen))


def _remove_tree(path: Path, ignore_errors: bool = False) -> None:
    """``shutil.rmtree``, imported here: importing shutil (with bz2, lzma and threading)
    costs ``dockpy run``, which only looks snapshots up, a few milliseconds."""
    import shutil

    shutil.rmtree(path, ignore_errors=ignore_errors)
