"""A scratch content store whose blobs reach the real store only when published.

``load`` and ``pull`` write every blob of an archive or image here first, each verified against
its digest as it streams in (the ``ContentStore`` writer protocol), and
publishes them into the store's ``blobs/`` only after the whole archive has
been read and every image in it checked. A load or pull that fails anywhere,
even on the last byte, leaves the store as it was: the staging directory is removed
and nothing was ever visible. ``save`` uses one too, for layers it has to
re-compress (they are written to the archive, never to the store).

The directory lives in ``<root>/tmp`` (same filesystem, so publishing is a
rename) under the content store's ingest prefix, so ``gc`` removes one that a
crashed process left behind. Hold ``ImageStore.writing()`` while one exists.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from dockpy.errors import IntegrityError, NotFoundError, StoreError, UnsafeArchiveError
from dockpy.layers.content import COPY_CHUNK, INGEST_PREFIX, BlobInfo, ContentStore
from dockpy.layers.digests import Digest
from dockpy.layers.durability import fsync_directory
from dockpy.root import StorageRoot


class StagingStore:
    """Blobs staged for one load or save, looked up before the real store's."""

    def __init__(self, store: ContentStore, purpose: str):
        self.store = store
        try:
            self.path = Path(tempfile.mkdtemp(prefix=f"{INGEST_PREFIX}{purpose}-", dir=store.root.tmp))
        except OSError as error:
            raise StoreError(f"create a staging directory in {store.root.tmp}: {error.strerror}") from error
        self.content = ContentStore(StorageRoot(self.path))

    def __enter__(self) -> "StagingStore":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Discard whatever was staged and not published."""
        shutil.rmtree(self.path, ignore_errors=True)

    def has(self, digest: Digest) -> bool:
        return self.content.has(digest) or self.store.has(digest)

    def info(self, digest: Digest) -> BlobInfo:
        return self.content.info(digest) if self.content.has(digest) else self.store.info(digest)

    def open(self, digest: Digest):
        """A verifying reader of the staged blob, else of the store's."""
        return self.content.open(digest) if self.content.has(digest) else self.store.open(digest)

    def open_unverified(self, digest: Digest) -> BinaryIO:
        """The staged blob's file, else the store's, not hashed as it is read (see ``ContentStore.open_unverified``)."""
        return self.content.open_unverified(digest) if self.content.has(digest) else self.store.open_unverified(digest)

    def read_bytes(self, digest: Digest, limit: int, what: str) -> bytes:
        """A small blob (a manifest, a config) read into memory; refuses one larger than ``limit``."""
        size = self.info(digest).size
        if size > limit:
            raise UnsafeArchiveError(f"{what} is {size} bytes, more than the {limit} bytes allowed")
        with self.open(digest) as reader:
            return reader.read()

    def stage(self, data: BinaryIO, expected: Digest | None, size: int) -> BlobInfo:
        """Stage ``size`` bytes read from ``data``; with ``expected``, refuse content of another digest.

        A blob the store already holds is only hashed, not written again.
        """
        if expected is not None and self.store.has(expected):
            return _verify_stream(data, expected, size)
        with self.content.writer(expected, size) as blob:
            while chunk := data.read(COPY_CHUNK):
                blob.write(chunk)
            return blob.commit()

    def publish(self, digests: Iterable[Digest]) -> None:
        """Make the staged blobs among ``digests`` visible in the store (each is already verified and durable)."""
        published = False
        for digest in digests:
            if self.content.has(digest) and not self.store.has(digest):
                _rename(self.content.path(digest), self.store.path(digest))
                published = True
        if published:
            fsync_directory(self.store.root.blobs / "sha256")


def _verify_stream(data: BinaryIO, expected: Digest, size: int) -> BlobInfo:
    digest = hashlib.sha256()
    read = 0
    while chunk := data.read(COPY_CHUNK):
        digest.update(chunk)
        read += len(chunk)
    actual = Digest.from_hex(digest.hexdigest())
    if actual != expected:
        raise IntegrityError(f"blob digest mismatch: expected {expected}, got {actual}")
    if read != size:
        raise IntegrityError(f"blob {expected} size mismatch: expected {size}, got {read} bytes")
    return BlobInfo(expected, size)


def _rename(source: Path, target: Path) -> None:
    try:
        os.rename(source, target)
    except FileNotFoundError as error:
        raise NotFoundError(f"staged blob {source.name} vanished before it was published") from error
    except OSError as error:
        raise StoreError(f"publish blob {source.name}: {error.strerror}") from error
