"""Content digests of build-context files, re-hashing only what changed since the last build.

A COPY's cache key covers the content and metadata of every source file, so
every build needs their digests. Reading 100 MiB to learn that nothing
changed would make a no-op rebuild slow; instead the digest of each file is
kept in the metadata DB with the file's identity as ``stat`` reports it
(device, inode, size, mtime_ns, ctime_ns). If all of these are unchanged
the file is assumed unchanged, as git's index and BuildKit's content-hash
cache assume. ctime is included because it changes on every write and
cannot be set back by a user (``touch -d`` can set mtime).

The whole cache of one context directory is loaded with one query and
written back, changed rows only, in one transaction at the end of the build.

A build names the files its COPY and ADD steps will need before it runs any
step (``prefetch``): one thread hashes those the cache does not know while
the first steps run (a FROM, a RUN waiting for its container), so a cold
build finds the digest of a big file ready instead of reading it on the
step's critical path.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from dockpy.metadata import MetadataConnection, ensure_schema, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS build_file_digests (
    path TEXT PRIMARY KEY,
    device INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    digest TEXT NOT NULL
) WITHOUT ROWID
"""
READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileIdentity:
    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> "FileIdentity":
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class FileDigestCache:
    """sha256 digests of the regular files under one directory, cached by file identity."""

    def __init__(self, connection: MetadataConnection, directory: str):
        self._connection = connection
        self._prefix = directory.rstrip("/") + "/"
        ensure_schema(connection, "build.file_digests", _SCHEMA)
        self._known = self._load()
        self._changed: dict[str, tuple[FileIdentity, str]] = {}
        self.hashed_paths: list[str] = []
        self._prefetched: dict[str, tuple[FileIdentity, str]] = {}
        self._pending: set[str] = set()
        self._listing = False
        self._ready = threading.Condition()

    def _load(self) -> dict[str, tuple[FileIdentity, str]]:
        # Every path under the prefix: '/' + 1 is '0', the first string no such path reaches.
        rows = self._connection.execute(
            "SELECT path, device, inode, size, mtime_ns, ctime_ns, digest FROM build_file_digests "
            "WHERE path >= ? AND path < ?", (self._prefix, self._prefix[:-1] + "0"))
        return {row[0]: (FileIdentity(*row[1:6]), row[6]) for row in rows}

    def digest(self, path: str, st: os.stat_result) -> str:
        """The hex sha256 of the regular file ``path`` whose lstat is ``st``."""
        identity = FileIdentity.of(st)
        known = self._known.get(path)
        if known is not None and known[0] == identity:
            return known[1]
        prefetched = self._wait_for_prefetch(path)
        digest = prefetched[1] if prefetched is not None and prefetched[0] == identity else hash_file(path)
        self._known[path] = self._changed[path] = (identity, digest)
        self.hashed_paths.append(path)
        return digest

    def prefetch(self, files: Iterable[tuple[str, os.stat_result]]) -> None:
        """Hash, on a thread, the regular files among ``files`` (path, lstat) the cache does not know.

        ``files`` is consumed on that thread too (it may walk the context), so
        the caller goes on at once. ``digest`` waits until the thread has
        listed them, then for the file's turn, instead of reading it again; a
        file changed since it was hashed is hashed again, as always.
        """
        self._listing = True
        threading.Thread(target=self._hash_in_background, args=(files,), name="dockpy-prefetch", daemon=True).start()

    def _hash_in_background(self, files: Iterable[tuple[str, os.stat_result]]) -> None:
        todo: list[tuple[str, os.stat_result]] = []
        try:
            todo = [(path, st) for path, st in files if stat.S_ISREG(st.st_mode) and not self._knows(path, st)]
            with self._ready:
                self._pending.update(path for path, _ in todo)
                self._listing = False
                self._ready.notify_all()
            for path, st in todo:
                result = (FileIdentity.of(st), hash_file(path))
                with self._ready:
                    self._prefetched[path] = result
                    self._pending.discard(path)
                    self._ready.notify_all()
        except Exception:  # a file gone or unreadable, a context changing under the walk: the steps hash
            pass  # what they need themselves, and say what is wrong
        finally:  # whatever happens, no ``digest`` waits for a file this thread will not hash
            with self._ready:
                self._listing = False
                self._pending.clear()
                self._ready.notify_all()

    def _knows(self, path: str, st: os.stat_result) -> bool:
        known = self._known.get(path)
        return known is not None and known[0] == FileIdentity.of(st)

    def _wait_for_prefetch(self, path: str) -> tuple[FileIdentity, str] | None:
        with self._ready:
            self._ready.wait_for(lambda: not self._listing and path not in self._pending)
            return self._prefetched.pop(path, None)

    def save(self) -> None:
        """Write the digests computed by this build (one transaction)."""
        if not self._changed:
            return
        rows = [(path, *(vars(identity).values()), digest) for path, (identity, digest) in self._changed.items()]
        with transaction(self._connection):
            self._connection.executemany(
                "INSERT OR REPLACE INTO build_file_digests VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        self._changed.clear()


def hash_file(path: str) -> str:
    """The hex sha256 of a file's content, read without following a symlink in its place."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        with os.fdopen(fd, "rb", buffering=0, closefd=False) as stream:
            buffer = bytearray(READ_CHUNK)
            view = memoryview(buffer)
            while count := stream.readinto(buffer):
                digest.update(view[:count])
    finally:
        os.close(fd)
    return digest.hexdigest()
