"""A layer blob's diff_id, computed on a second thread while the blob streams into a store.

``load`` stages archive blobs through it and ``pull`` downloads layers
through it. Verifying a layer's diff_id means decompressing it. Done after
the blob is stored, that is a second full pass over every layer; done here, the
decompression and its hash run beside the staging write (zlib, zstd and
sha256 release the GIL), so a load costs about one pass on two cores.

The tee starts a thread only for a blob whose first bytes say gzip or zstd.
A plain blob's diff_id is its digest, and one that is not a layer at all
(a config) is never asked for. If decompression fails, the result is None
(``load``'s verification then decompresses the blob again itself, to report
the error properly).
"""

from __future__ import annotations

import hashlib
import io
import queue
import threading
from typing import BinaryIO

from dockpy.layers.compression import GZIP_MAGIC, ZSTD_MAGIC, open_tar_stream
from dockpy.layers.digests import DiffID

COPY_CHUNK = 1 << 20
# Chunks in flight between the reader and the hashing thread: bounds the memory a slow hash can hold.
QUEUE_CHUNKS = 16
_END = b""


class DiffIdTee:
    """Reads ``source`` like a file, handing every chunk to a decompress-and-hash thread.

    Use it as a context manager: leaving the block always ends the thread,
    even when reading failed half-way.
    """

    def __init__(self, source: BinaryIO):
        self._source = source
        self._chunks: queue.Queue[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._started = False
        self._result: DiffID | None = None

    def __enter__(self) -> "DiffIdTee":
        return self

    def __exit__(self, *exc_info) -> None:
        self.finish()

    @property
    def compressed(self) -> bool:
        """Whether the stream began like gzip or zstd (only then is there a diff_id to compute)."""
        return self._chunks is not None

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(size)
        if not self._started:
            self._start(chunk)
        if self._chunks is not None and chunk:
            self._chunks.put(chunk)
        return chunk

    def finish(self) -> DiffID | None:
        """The diff_id of what was read, if it was a gzip or zstd stream that decompressed; else None."""
        if self._thread is not None:
            self._chunks.put(_END)
            self._thread.join()
            self._thread = None
        return self._result

    def _start(self, first_chunk: bytes) -> None:
        self._started = True
        if first_chunk.startswith((GZIP_MAGIC, ZSTD_MAGIC)):
            self._chunks = queue.Queue(QUEUE_CHUNKS)
            self._thread = threading.Thread(target=self._hash, name="diff-id", daemon=True)
            self._thread.start()

    def _hash(self) -> None:
        reader = _QueueReader(self._chunks)
        try:
            hasher = hashlib.sha256()
            with open_tar_stream(reader) as tar:
                while chunk := tar.read(COPY_CHUNK):
                    hasher.update(chunk)
            self._result = DiffID.from_hex(hasher.hexdigest())
        except Exception:  # corrupt or truncated: verification repeats the work and reports the error
            self._result = None
        finally:
            reader.drain()  # never leave the producer blocked on a full queue


class _QueueReader(io.RawIOBase):
    """The chunks put on a queue, as a stream that ends at the empty chunk."""

    def __init__(self, chunks: queue.Queue[bytes]):
        super().__init__()
        self._chunks = chunks
        self._pending = memoryview(b"")
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not self._pending and not self._ended:
            chunk = self._chunks.get()
            self._ended = chunk == _END
            self._pending = memoryview(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def drain(self) -> None:
        while not self._ended:
            self._ended = self._chunks.get() == _END

    def close(self) -> None:
        """Closing (the decompressor closes its source) must not stop ``drain``."""
