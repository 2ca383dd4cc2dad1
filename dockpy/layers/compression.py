"""Layer blobs: compress a tar into the content store in one pass, and read it back.

``commit_layer`` streams the tar writer into a hash (the ``diff_id``, over the
uncompressed tar), then into the compressor, then into a ``ContentStore``
writer (which hashes the ``digest`` over the compressed bytes). One pass, no
temporary tar, no second read: a layer costs what it takes to read its files
and compress them once. Everything after the tar writer runs on two more
threads (``BackgroundWriter``): one hashes the tar and compresses it, the
other hashes and writes the compressed bytes, beside the one walking the tree.
``layer_in_background`` runs all of it on a thread of its own, so a caller
(``dockpy commit``) prepares the image meanwhile.

Choices (the numbers are in ``docs/layers-tar.md``):

- zstd at level 3 (zstd's default). A tar of less than 16 MiB is compressed
  by one thread, with a 1 MiB window instead of level 3's 2 MiB; a bigger
  one by one worker thread per CPU if its first 16 MiB look compressible,
  else by one thread (see ``_ZstdCompressor``).
  The choice depends on the tar alone, and the workers' output does not
  depend on their number: the same tree gives the same digest on any
  machine (with the same zstd).
- gzip at level 1. Level 6 (gzip's default) takes about 3x as long for
  layers about 10% smaller (measured on /usr/bin and Python's library); gzip
  is only chosen for old tools that cannot read zstd (the default), and a
  build's time matters more there than the last tenth of the transfer size.
  The gzip header carries no name and mtime 0, so output is deterministic.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import hashlib
import io
import os
import threading
import zlib
from collections import namedtuple
from collections.abc import Callable, Iterator

from dockpy.errors import InvalidInputError, UnsafeArchiveError
from dockpy.layers.background_writer import BackgroundWriter
from dockpy.layers.content import BlobWriter, ContentStore
from dockpy.layers.digests import DiffID, Digest

ZSTD_LEVEL = 3
# The window of a layer compressed by one thread: 1 MiB, not level 3's 2 MiB (see _ZstdCompressor).
ONE_THREAD_WINDOW_LOG = 20
# Tars smaller than this are compressed single-threaded (see _ZstdCompressor).
SMALL_TAR_SIZE = 16 << 20
# What _is_compressible looks at: SAMPLE_SIZE bytes of every SAMPLE_EVERY (1 MiB in all of 16).
SAMPLE_SIZE = 64 << 10
SAMPLE_EVERY = 1 << 20
# zstd hands its output on in pieces of this size: big enough that the next thread gets few of them.
_COMPRESSED_WRITE_SIZE = 1 << 20
GZIP_LEVEL = 1
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"
# The largest uncompressed tar store_layer_from_tar accepts unless told otherwise:
# it bounds what a decompression bomb can make us write.
DEFAULT_MAX_LAYER_SIZE = 256 << 30

OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"


class Compression(enum.Enum):
    """How a layer blob is compressed; the value is the name used on the command line."""

    ZSTD = "zstd"
    GZIP = "gzip"
    NONE = "none"

    @property
    def media_type(self) -> str:
        """The OCI media type of a layer compressed this way."""
        return OCI_LAYER if self is Compression.NONE else f"{OCI_LAYER}+{self.value}"

    @property
    def docker_media_type(self) -> str:
        """Docker's (schema 2) media type; Docker has none for zstd and uses OCI's."""
        if self is Compression.GZIP:
            return DOCKER_LAYER_GZIP
        return self.media_type

    @classmethod
    def from_name(cls, name: str) -> "Compression":
        try:
            return cls(name)
        except ValueError:
            choices = ", ".join(item.value for item in cls)
            raise InvalidInputError(f"unknown compression {name!r}: choose one of {choices}") from None

    @classmethod
    def from_media_type(cls, media_type: str) -> "Compression":
        """The compression of a layer media type, OCI's or Docker's (non-distributable ones included)."""
        for compression in cls:
            if media_type in (compression.media_type, compression.media_type.replace(".layer.", ".layer.nondistributable.")):
                return compression
        if media_type in (DOCKER_LAYER_GZIP, DOCKER_FOREIGN_LAYER_GZIP):
            return cls.GZIP
        raise InvalidInputError(f"{media_type!r} is not a layer media type dockpy can read")


class LayerBlob(namedtuple("LayerBlob", "digest diff_id size media_type")):
    """A stored layer: ``digest``/``size`` of the blob as stored, ``diff_id`` of its uncompressed tar."""

    __slots__ = ()


def commit_layer(
    store: ContentStore,
    write_tar: Callable[[io.BufferedIOBase], None],
    compression: Compression = Compression.ZSTD,
) -> LayerBlob:
    """Store the tar ``write_tar(out)`` writes, compressed, and return its identities.

    Typically ``commit_layer(store, lambda out: write_layer_tar(upper, out))``.
    """
    return _store_compressed(store, compression, write_tar)


def store_layer_from_tar(
    store: ContentStore,
    tar_stream: io.BufferedIOBase,
    compression: Compression = Compression.ZSTD,
    *,
    max_size: int = DEFAULT_MAX_LAYER_SIZE,
) -> LayerBlob:
    """Store a tar given by the user (``import``, ``load``), checking it as it streams.

    ``tar_stream`` may be plain, gzip or zstd (told by its first bytes); it is
    stored as ``compression``. Every entry must pass the checks the applier
    makes (``tarcheck``), the tar must be complete, and at most ``max_size``
    uncompressed bytes are accepted; otherwise nothing is stored.
    ``tar_stream`` is read to its end and closed.
    """
    from dockpy.layers.tarcheck import EntryChecker  # here: commit_layer, the common case, reads no tar
    from dockpy.layers.tarreader import TarReader

    def copy_checked_tar(out) -> None:
        reader = TarReader(_TeeReader(plain, out, max_size))
        checker = EntryChecker()
        for entry in reader:
            checker.check(entry)
        reader.drain()

    with open_tar_stream(tar_stream) as plain:
        return _store_compressed(store, compression, copy_checked_tar)


@contextlib.contextmanager
def layer_in_background(
    store: ContentStore,
    write_tar: Callable[[io.BufferedIOBase], None],
    compression: Compression = Compression.ZSTD,
) -> Iterator["PendingLayer"]:
    """``commit_layer`` on a thread of its own, while the caller prepares what goes with the layer.

    ``with layer_in_background(store, write_tar) as layer: ...; blob = layer.commit()``.
    The tar, both hashes, the compression and the fsync happen meanwhile;
    ``commit()`` waits for them and publishes the blob. Leaving the block
    without ``commit()`` (say, on an error) stops the writer and stores nothing.
    """
    with store.writer() as blob:
        layer = PendingLayer(blob, compression, write_tar)
        try:
            yield layer
        finally:
            layer.stop()


class PendingLayer:
    """A layer blob being written and fsynced on a thread; see ``layer_in_background``."""

    def __init__(self, blob: BlobWriter, compression: Compression, write_tar: Callable[[io.BufferedIOBase], None]):
        self._blob = blob
        self._compression = compression
        # Made here, on the caller's thread, with the imports it needs (zstandard's backend): a module
        # being imported on one thread is visible half-initialized to another.
        self._compressed_out = BackgroundWriter(blob, name="dockpy-layer-store")
        self._compressor = _compressor(compression, self._compressed_out)
        self._stop = threading.Event()
        self._identities: LayerBlob | None = None
        self._written = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write, args=(write_tar,), name="dockpy-layer-tar", daemon=True)
        self._thread.start()

    def written(self) -> LayerBlob:
        """Wait until the layer is compressed (its fsync may still go on): what ``commit`` will return.

        Enough to write the config and manifest that name the layer while its
        bytes reach the disk; raises what writing it raised.
        """
        self._written.wait()
        self._raise_error()
        return self._identities

    def commit(self) -> LayerBlob:
        """Wait for the layer to be durable, then publish its blob; raises what writing it raised."""
        self._thread.join()
        self._raise_error()
        self._blob.commit()
        return self._identities

    def stop(self) -> None:
        """Make the writer give up at its next write, and wait until it has."""
        self._stop.set()
        self._thread.join()

    def _write(self, write_tar: Callable[[io.BufferedIOBase], None]) -> None:
        self._error = _failure_of(lambda: self._compress(write_tar))
        self._written.set()  # the caller may name the layer now, while its fsync goes on
        # Freeing the compressor's buffers (up to 16 MiB of held tar) takes milliseconds of
        # munmap: here they overlap the caller's work, not its end.
        self._compressor = None
        if self._error is None:
            self._error = _failure_of(self._blob.sync)

    def _compress(self, write_tar: Callable[[io.BufferedIOBase], None]) -> None:
        diff_id = _write_compressed(self._compressor, self._compressed_out,
                                    lambda out: write_tar(_Stoppable(out, self._stop)))
        self._identities = LayerBlob(self._blob.digest, diff_id, self._blob.size, self._compression.media_type)

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error


def _failure_of(step: Callable[[], None]) -> BaseException | None:
    """What ``step()`` raised, if anything: a thread hands it to its caller's thread this way."""
    try:
        step()
    except BaseException as error:
        return error
    return None


class _Stoppable:
    """The tar writer's output, refusing writes once ``stop`` is set (nobody will commit the layer)."""

    def __init__(self, out, stop: threading.Event):
        self._out = out
        self._stop = stop

    def write(self, data) -> int:
        if self._stop.is_set():
            raise _Stopped
        return self._out.write(data)


class _Stopped(Exception):
    """Raised into the tar writer when nobody will commit its layer."""


def _store_compressed(store: ContentStore, compression: Compression, write_tar) -> LayerBlob:
    with store.writer() as blob:
        compressed_out = BackgroundWriter(blob, name="dockpy-layer-store")
        diff_id = _write_compressed(_compressor(compression, compressed_out), compressed_out, write_tar)
        info = blob.commit()
    return LayerBlob(info.digest, diff_id, info.size, compression.media_type)


def _write_compressed(compressor, compressed_out: BackgroundWriter, write_tar) -> DiffID:
    """The one pass, on three threads; the blob is written, not committed.

    ``write_tar(out)`` | diff_id hash → ``compressor`` | ``compressed_out``
    (its blob: digest hash → file). On a big incompressible file the two
    sha256 passes are most of the work; on separate threads they use both
    CPUs (100 MiB of random bytes: 0.44 s instead of 0.54 s, same CPU time).
    """
    diff_id_sink = _HashingWriter(compressor)
    with compressed_out:
        with BackgroundWriter(diff_id_sink) as out:
            write_tar(out)
        compressor.finish()
    return diff_id_sink.diff_id()


def open_layer(store: ContentStore, digest: Digest) -> io.BufferedIOBase:
    """The uncompressed tar of a stored layer (zstd, gzip or plain, told by its magic bytes).

    The blob's digest is verified when the stream is read to its end
    (``apply_layer`` does), raising ``IntegrityError`` if it is corrupt.
    """
    return open_tar_stream(store.open(digest))


def open_tar_stream(stream: io.BufferedIOBase) -> io.BufferedIOBase:
    """``stream`` as a plain tar, decompressing zstd or gzip; closing the result closes ``stream``."""
    from dockpy.layers.tarreader import COPY_CHUNK

    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream, COPY_CHUNK)
    magic = buffered.peek(len(ZSTD_MAGIC))[: len(ZSTD_MAGIC)]
    if magic.startswith(ZSTD_MAGIC):
        from dockpy.layers.zstd_backend import zstandard

        zstd = zstandard()
        decompressed = zstd.ZstdDecompressor().stream_reader(buffered, read_across_frames=True, closefd=False)
        raw = _DecompressedReader(decompressed, buffered, "zstd", (zstd.ZstdError,))
    elif magic.startswith(GZIP_MAGIC):
        import gzip

        decompressed = gzip.GzipFile(fileobj=buffered, mode="rb")
        raw = _DecompressedReader(decompressed, buffered, "gzip", (EOFError, gzip.BadGzipFile, zlib.error))
    else:
        return buffered
    # Tar headers are read 512 bytes at a time: buffer them above the decompressor.
    return io.BufferedReader(raw, COPY_CHUNK)


class _HashingWriter:
    """Hashes everything written (the diff_id) on its way to the compressor."""

    def __init__(self, sink):
        self._hash = hashlib.sha256()
        self._sink = sink

    def write(self, data) -> int:
        self._hash.update(data)
        self._sink.write(data)
        return len(data)

    def diff_id(self) -> DiffID:
        return DiffID.from_hex(self._hash.hexdigest())


class _TeeReader:
    """Reads from ``source`` and copies every byte read to ``sink``, up to ``max_size`` bytes."""

    def __init__(self, source: io.BufferedIOBase, sink: _HashingWriter, max_size: int):
        self._source = source
        self._sink = sink
        self._left = max_size
        self._max_size = max_size

    def read(self, size: int) -> bytes:
        data = self._source.read(size)
        self._left -= len(data)
        if self._left < 0:
            raise UnsafeArchiveError(f"tar archive is larger than the {self._max_size} bytes allowed")
        self._sink.write(data)
        return data


class _ZstdCompressor:
    """zstd: one frame, by this thread or by zstd's workers, chosen from the first bytes of the tar.

    The tar is compressed by this thread as it arrives, straight on to the
    blob, so a small layer is compressed and stored beside its tar, not after
    it: for a 10 MiB layer one thread takes less than half the CPU time of
    zstd's workers, whose fresh buffers page-fault more than they save at
    that size. The first ``SMALL_TAR_SIZE`` bytes are also held (as the
    chunks written, never joined). A tar that grows past them goes to zstd's
    workers only if a sample of the held bytes compresses
    (``_is_compressible``): the blob then starts over (``restart``) and the
    workers get the held bytes first. On incompressible bytes zstd does
    little but copy, and its workers nearly double the CPU time (0.22 s
    against 0.12 s for 100 MiB of random bytes) without finishing sooner, so
    this thread goes on. The choice depends on the tar alone, and neither
    output depends on how the tar was split into writes, nor the workers'
    on their number, so a tree gives the same blob on every machine (with
    the same zstd).

    This thread compresses with a 1 MiB window (``ONE_THREAD_WINDOW_LOG``)
    instead of level 3's 2 MiB: on the 10 MiB of random bytes of a commit it
    takes ~5 ms less CPU at its first use in a process (~260 fewer page
    faults, fewer distant match candidates to check), for blobs 0.1-0.4%
    bigger (15 MiB of Python's library, of /usr/bin). The workers keep level
    3's window, which their job sizes follow.
    """

    def __init__(self, sink):
        from dockpy.layers.zstd_backend import zstandard

        _recycle_big_output_buffers()
        self._zstandard = zstandard()
        self._sink = sink
        self._held: list | None = []
        self._held_size = 0
        self._writer = self._stream(threads=0)

    def write(self, data) -> None:
        self._writer.write(data)
        if self._held is None:
            return
        self._held.append(data)
        self._held_size += len(data)
        if self._held_size >= SMALL_TAR_SIZE:
            held, self._held = self._held, None
            if _is_compressible(held, self._zstandard):
                self._start_over_with_workers(held)

    def finish(self) -> None:
        self._writer.flush(self._zstandard.FLUSH_FRAME)

    def _stream(self, threads: int):
        zstd = self._zstandard
        if threads:
            compressor = zstd.ZstdCompressor(level=ZSTD_LEVEL, threads=threads)
        else:
            parameters = zstd.ZstdCompressionParameters.from_level(ZSTD_LEVEL, window_log=ONE_THREAD_WINDOW_LOG)
            compressor = zstd.ZstdCompressor(compression_params=parameters)
        return compressor.stream_writer(self._sink, write_size=_COMPRESSED_WRITE_SIZE, closefd=False)

    def _start_over_with_workers(self, held: list) -> None:
        self._sink.restart()
        self._writer = self._stream(threads=max(1, os.cpu_count() or 1))
        for chunk in held:
            self._writer.write(chunk)


@functools.cache  # once a process: the threshold stays raised, and a second block would come from the heap
def _recycle_big_output_buffers() -> None:
    """Let malloc reuse zstd's 1 MiB output pieces instead of mapping fresh memory for each.

    python-zstandard returns each piece as a new bytes object. Above malloc's
    mmap threshold (128 KiB at first) a block gets a fresh mapping, whose every
    page faults on first touch (slow in a VM); freeing such a block raises
    the threshold to its size (glibc's dynamic threshold, mallopt(3)), and
    blocks below it come from the heap and are reused. Freeing one 4 MiB
    block first (calloc'ed, so never touched) does that at once: a commit of
    10 MiB makes ~600 fewer page faults, ~4 ms less CPU on the thread that
    compresses.
    """
    bytes(4 << 20)  # allocated and freed at once


def _is_compressible(chunks: list, zstandard) -> bool:
    """Whether zstd's fastest level shrinks a sample of ``chunks`` (64 KiB at every MiB of each) by a tenth.

    A few milliseconds for the 1 MiB sample of 16 MiB held.
    """
    sample = b"".join(chunk[start:start + SAMPLE_SIZE] for chunk in chunks for start in range(0, len(chunk), SAMPLE_EVERY))
    return len(zstandard.ZstdCompressor(level=1).compress(sample)) < 0.9 * len(sample)


class _GzipCompressor:
    def __init__(self, sink):
        # wbits 31: a gzip wrapper whose header has mtime 0 and no file name.
        self._compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        self._sink = sink

    def write(self, data) -> None:
        self._sink.write(self._compressor.compress(data))

    def finish(self) -> None:
        self._sink.write(self._compressor.flush())


class _Uncompressed:
    def __init__(self, sink):
        self.write = sink.write

    def finish(self) -> None:
        pass


def _compressor(compression: Compression, sink):
    """Something with ``write(data)`` and ``finish()`` that compresses into ``sink``."""
    return {Compression.ZSTD: _ZstdCompressor, Compression.GZIP: _GzipCompressor, Compression.NONE: _Uncompressed}[
        compression
    ](sink)


class _DecompressedReader(io.RawIOBase):
    """A decompressing stream that owns its source and reports corrupt input as ``UnsafeArchiveError``."""

    def __init__(self, decompressed, source: io.BufferedIOBase, kind: str, corrupt_input_errors: tuple[type[Exception], ...]):
        super().__init__()
        self._decompressed = decompressed
        self._source = source
        self._kind = kind
        self._corrupt_input_errors = corrupt_input_errors

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            return self._decompressed.readinto(buffer)
        except self._corrupt_input_errors as error:
            reason = str(error) or type(error).__name__
            raise UnsafeArchiveError(f"layer is not a valid {self._kind} stream: {reason}") from error

    def close(self) -> None:
        if not self.closed:
            self._decompressed.close()
            self._source.close()
        super().close()
