"""The content store: immutable blobs addressed by their sha256 digest.

Writes follow containerd's ingest protocol: bytes go to a temporary file in
``<root>/tmp``, are hashed as they arrive, fsynced, checked against the digest
and size the caller expected, and only then renamed into
``blobs/sha256/<hex>``. A reader therefore never sees a partial blob, and a
crash at any point leaves at most a stray temporary file, which ``gc``
removes. Reads verify the digest as the last byte passes, so corruption on
disk is reported instead of propagated.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import re
from collections import namedtuple
from collections.abc import Iterator

from dockpy.errors import IntegrityError, NotFoundError, StoreError
from dockpy.layers.digests import Digest
from dockpy.root import BLOBS, TMP, StorageRoot

INGEST_PREFIX = "ingest-"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
COPY_CHUNK = 1 << 20
# Once a blob holds this many bytes, and again after each as many more, a thread
# syncs them while the rest is written (durability.py), so its final fsync waits for little.
WRITEBACK_CHUNK = 1 << 20


class BlobInfo(namedtuple("BlobInfo", "digest size")):
    """A stored blob's digest (``Digest``) and size in bytes."""

    __slots__ = ()


class BlobWriter(io.RawIOBase):
    """A file-like sink that becomes a blob on ``commit``; see ``ContentStore.writer``."""

    def __init__(self, store: "ContentStore", expected: Digest | None, expected_size: int | None):
        super().__init__()
        self._store = store
        self._expected = expected
        self._expected_size = expected_size
        self._hash = hashlib.sha256()
        self.size = 0
        self._written_back = 0
        self._writeback = None  # a BackgroundDataSync, once the blob is big enough to need one
        self._synced_size: int | None = None
        fd, self._temp_path = _create_ingest_file(store.root.join(TMP))
        self._file = os.fdopen(fd, "wb")
        self.committed: BlobInfo | None = None

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._hash.update(data)
        self._file.write(data)
        self.size += len(data)
        if self._expected_size is not None and self.size > self._expected_size:
            raise IntegrityError(f"blob {self._expected or ''} is larger than its declared {self._expected_size} bytes")
        if self.size - self._written_back >= WRITEBACK_CHUNK:
            self._start_writeback()
        return len(data)

    def restart(self) -> None:
        """Forget everything written so far: the blob starts over, empty (a compressor that changed its mind)."""
        self._file.seek(0)
        self._file.truncate()
        self._hash = hashlib.sha256()
        self.size = 0
        self._written_back = 0
        self._synced_size = None

    def _start_writeback(self) -> None:
        from dockpy.layers.durability import BackgroundDataSync  # here: small blobs need no thread

        self._file.flush()
        if self._writeback is None:
            self._writeback = BackgroundDataSync(self._file.fileno())
        self._writeback.request()
        self._written_back = self.size

    def sync(self) -> None:
        """Make the bytes written so far durable now; ``commit`` then only verifies and publishes.

        A writer on another thread calls this, so the fsync (the slow part of a
        big blob) overlaps with whatever its caller does before committing.
        """
        self._stop_writeback()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._synced_size = self.size

    def _stop_writeback(self) -> None:
        """Wait for the writeback thread to end; raises what its syncs met (this fsync might not see it)."""
        writeback, self._writeback = self._writeback, None
        if writeback is not None:
            writeback.finish()

    @property
    def digest(self) -> Digest:
        return Digest.from_hex(self._hash.hexdigest())

    def commit(self) -> BlobInfo:
        """Verify, make durable and publish the blob.

        If the blob is stored already (durably, as every blob is), this copy is
        dropped unsynced, as containerd does: storing the same bytes again
        costs no fsync, and replacing the old file would free all its blocks.
        """
        digest = self.digest
        if self._expected is not None and digest != self._expected:
            raise IntegrityError(f"blob digest mismatch: expected {self._expected}, got {digest}")
        if self._expected_size is not None and self.size != self._expected_size:
            raise IntegrityError(f"blob {digest} size mismatch: expected {self._expected_size}, got {self.size} bytes")
        final_path = self._store.path(digest)
        try:
            if os.path.exists(final_path):
                self._close_file()  # and close() removes the copy
            else:
                self._publish(final_path)
        except OSError as error:
            raise StoreError(f"commit blob {digest}: {error.strerror or error}") from error
        self.committed = BlobInfo(digest, self.size)
        return self.committed

    def _publish(self, final_path: str) -> None:
        """fsync, then rename into place, then fsync the directory: the blob survives a crash once visible."""
        from dockpy.layers.durability import fsync_directory

        if self._synced_size != self.size:
            self.sync()
        self._close_file()
        os.chmod(self._temp_path, 0o444)
        os.rename(self._temp_path, final_path)
        fsync_directory(os.path.dirname(final_path))

    def _close_file(self) -> None:
        """Close the temporary file, once no thread syncs it any more."""
        with contextlib.suppress(OSError):  # the blob was synced since, or is dropped: its errors tell nothing
            self._stop_writeback()
        if not self._file.closed:
            self._file.close()

    def close(self) -> None:
        """Discard the temporary file unless the blob was committed."""
        self._close_file()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._temp_path)
        super().close()


def _create_ingest_file(directory: str) -> tuple[int, str]:
    """A new empty file for a blob being written, as ``tempfile.mkstemp`` makes one
    (a random name, ``O_EXCL``, mode 0600) without importing tempfile, random and shutil."""
    while True:
        path = os.path.join(directory, f"{INGEST_PREFIX}{os.urandom(8).hex()}")
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), path
        except FileExistsError:
            continue


class VerifyingReader(io.RawIOBase):
    """Reads a blob and raises ``IntegrityError`` at end of file if its digest is wrong."""

    def __init__(self, path: str, digest: Digest):
        super().__init__()
        self._file = open(path, "rb")
        self._digest = digest
        self._hash = hashlib.sha256()
        self._verified = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._file.readinto(buffer)
        if count:
            self._hash.update(memoryview(buffer)[:count])
        elif not self._verified:
            actual = Digest.from_hex(self._hash.hexdigest())
            if actual != self._digest:
                raise IntegrityError(f"blob {self._digest} is corrupt: its content hashes to {actual}")
            self._verified = True
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


class ContentStore:
    """Blobs under ``<root>/blobs/sha256``; see the module docstring for the protocol."""

    def __init__(self, root: StorageRoot):
        self.root = root.create()
        self._directory = root.join(BLOBS, "sha256")

    def path(self, digest: Digest) -> str:
        """The blob's file (a str: ``commit`` starts its layer without importing pathlib)."""
        return os.path.join(self._directory, Digest(digest).hex)

    def has(self, digest: Digest) -> bool:
        return os.path.exists(self.path(digest))

    def info(self, digest: Digest) -> BlobInfo:
        try:
            return BlobInfo(Digest(digest), os.stat(self.path(digest)).st_size)
        except FileNotFoundError:
            raise NotFoundError(f"blob {digest} not found") from None

    @contextlib.contextmanager
    def writer(self, expected: Digest | None = None, expected_size: int | None = None) -> Iterator[BlobWriter]:
        """Yield a ``BlobWriter``; the caller calls ``commit()``. Uncommitted data is discarded.

        ``expected``/``expected_size`` make the write fail (and store nothing)
        if the content turns out different, as for a pulled or loaded blob.
        """
        try:
            blob = BlobWriter(self, expected, expected_size)
        except OSError as error:
            raise StoreError(f"create temporary blob in {self.root.join(TMP)}: {error.strerror or error}") from error
        try:
            yield blob
        except OSError as error:
            if error.errno == errno.ENOSPC:
                raise StoreError(f"write blob: no space left on device ({self.root.directory})") from error
            raise
        finally:
            blob.close()

    def put_bytes(self, data: bytes, expected: Digest | None = None) -> BlobInfo:
        """Store ``data``; returns its digest and size. Storing existing content is a no-op."""
        digest = Digest.of_bytes(data)
        if expected is not None and digest != expected:
            raise IntegrityError(f"blob digest mismatch: expected {expected}, got {digest}")
        if self.has(digest):
            return BlobInfo(digest, len(data))
        with self.writer(digest, len(data)) as blob:
            blob.write(data)
            return blob.commit()

    def put_stream(self, stream, expected: Digest | None = None, expected_size: int | None = None) -> BlobInfo:
        """Store everything read from the binary file-like ``stream``."""
        with self.writer(expected, expected_size) as blob:
            while chunk := stream.read(COPY_CHUNK):
                blob.write(chunk)
            return blob.commit()

    def open(self, digest: Digest) -> VerifyingReader:
        """Open a blob for reading; the digest is verified when the end is reached."""
        try:
            return VerifyingReader(self.path(digest), Digest(digest))
        except FileNotFoundError:
            raise NotFoundError(f"blob {digest} not found") from None

    def open_unverified(self, digest: Digest):
        """The blob's file, not hashed as it is read: for handing it to the kernel (``sendfile``) when
        the receiver checks the digest anyway, as a registry does with an upload."""
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFoundError(f"blob {digest} not found") from None

    def read_bytes(self, digest: Digest) -> bytes:
        with self.open(digest) as reader:
            return reader.read()

    def verify(self, digest: Digest) -> None:
        """Re-hash a stored blob; raises ``IntegrityError`` if it is corrupt."""
        with self.open(digest) as reader:
            while reader.read(COPY_CHUNK):
                pass

    def walk(self) -> Iterator[BlobInfo]:
        """Every stored blob, in no particular order; files not named like a digest are skipped (fsck reports them)."""
        with os.scandir(self._directory) as entries:
            for entry in entries:
                if entry.is_file() and _HEX_DIGEST.fullmatch(entry.name):
                    yield BlobInfo(Digest.from_hex(entry.name), entry.stat().st_size)

    def delete(self, digest: Digest) -> None:
        """Remove a blob. Only garbage collection calls this, under its lock."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(digest))

    def stale_ingests(self) -> list[str]:
        """Temporary files of writes that never committed (crashed processes)."""
        with os.scandir(self.root.join(TMP)) as entries:
            return [entry.path for entry in entries if entry.name.startswith(INGEST_PREFIX)]
