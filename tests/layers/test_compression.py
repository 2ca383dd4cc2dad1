"""Layer blobs: one-pass commit (diff_id and digest), media types, reading back, storing user tars."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest
import zstandard

from dockpy.errors import IntegrityError, InvalidInputError, StoreError, UnsafeArchiveError
from dockpy.layers import compression
from dockpy.layers.compression import (
    Compression,
    LayerBlob,
    commit_layer,
    layer_in_background,
    open_layer,
    store_layer_from_tar,
)
from dockpy.layers.content import ContentStore
from dockpy.layers.tarapply import apply_layer
from dockpy.layers.tarwriter import write_layer_tar
from tests.layers.layer_trees import build_tar, member, pseudo_random_bytes


@pytest.fixture
def store(storage_root) -> ContentStore:
    return ContentStore(storage_root)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "tree"
    (root / "dir").mkdir(parents=True)
    (root / "dir/text").write_bytes(b"hello layers\n" * 1000)
    (root / "random").write_bytes(pseudo_random_bytes(300_000))
    return root


def tar_of(tree) -> bytes:
    out = io.BytesIO()
    write_layer_tar(tree, out)
    return out.getvalue()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("compression", list(Compression))
def test_commit_computes_the_diff_id_over_the_tar_and_the_digest_over_the_blob(store, tree, compression):
    blob = commit_layer(store, lambda out: write_layer_tar(tree, out), compression)
    stored = store.read_bytes(blob.digest)
    assert blob == LayerBlob(sha256(stored), sha256(tar_of(tree)), len(stored), compression.media_type)


def test_zstd_is_the_default_and_its_blob_is_a_zstd_frame(store, tree):
    blob = commit_layer(store, lambda out: write_layer_tar(tree, out))
    assert blob.media_type == "application/vnd.oci.image.layer.v1.tar+zstd"
    assert zstandard.ZstdDecompressor().stream_reader(io.BytesIO(store.read_bytes(blob.digest))).read() == tar_of(tree)


def test_gzip_blobs_are_deterministic_and_carry_no_name_or_time(store, tree):
    first = commit_layer(store, lambda out: write_layer_tar(tree, out), Compression.GZIP)
    second = commit_layer(store, lambda out: write_layer_tar(tree, out), Compression.GZIP)
    header = store.read_bytes(first.digest)[:10]
    assert first == second
    assert header[3] == 0 and header[4:8] == bytes(4)  # no FNAME flag, MTIME 0
    assert gzip.decompress(store.read_bytes(first.digest)) == tar_of(tree)


def test_zstd_output_does_not_depend_on_the_number_of_worker_threads():
    data = pseudo_random_bytes(1 << 20) + b"compressible " * 200_000
    assert len({zstd_stream(data, threads) for threads in (1, 2, 4)}) == 1


def zstd_stream(data: bytes, threads: int) -> bytes:
    """Level 3, as dockpy compresses: by one thread (``threads=0``) with a 1 MiB window, else level 3's own."""
    sink = io.BytesIO()
    one_thread = zstandard.ZstdCompressionParameters.from_level(3, window_log=20)
    compressor = zstandard.ZstdCompressor(level=3, threads=threads) if threads else zstandard.ZstdCompressor(
        compression_params=one_thread)
    writer = compressor.stream_writer(sink, closefd=False)
    writer.write(data)
    writer.flush(zstandard.FLUSH_FRAME)
    return sink.getvalue()


def test_a_small_tar_is_compressed_by_one_thread(store, tree):
    blob = commit_layer(store, lambda out: write_layer_tar(tree, out))
    assert store.read_bytes(blob.digest) == zstd_stream(tar_of(tree), threads=0)


def test_a_layer_compressed_by_one_thread_is_a_standard_frame_with_a_1_mib_window(store, tree):
    blob = store.read_bytes(commit_layer(store, lambda out: write_layer_tar(tree, out)).digest)
    assert zstandard.get_frame_parameters(blob).window_size == 1 << 20
    assert zstandard.ZstdDecompressor().stream_reader(io.BytesIO(blob)).read() == tar_of(tree)


def one_file_tree(tmp_path, content: bytes):
    root = tmp_path / "one-file"
    root.mkdir()
    (root / "file").write_bytes(content)
    return root


def test_a_big_compressible_tar_is_compressed_by_zstds_workers(store, tree, monkeypatch):
    monkeypatch.setattr(compression, "SMALL_TAR_SIZE", 64 << 10)  # the sample, its first 64 KiB, is a fifth text
    blob = commit_layer(store, lambda out: write_layer_tar(tree, out))
    multithreaded = zstd_stream(tar_of(tree), threads=2)
    assert multithreaded != zstd_stream(tar_of(tree), threads=0)
    assert store.read_bytes(blob.digest) == multithreaded


def test_a_big_compressible_file_read_in_chunks_goes_whole_to_zstds_workers(store, tmp_path, monkeypatch):
    monkeypatch.setattr(compression, "SMALL_TAR_SIZE", 64 << 10)
    tree = one_file_tree(tmp_path, b"a compressible line of a big file\n" * 200_000)  # 6.6 MiB: two chunks read
    blob = commit_layer(store, lambda out: write_layer_tar(tree, out))
    assert store.read_bytes(blob.digest) == zstd_stream(tar_of(tree), threads=2)


def test_a_big_incompressible_tar_is_compressed_by_one_thread(store, tmp_path, monkeypatch):
    monkeypatch.setattr(compression, "SMALL_TAR_SIZE", 64 << 10)
    tree = one_file_tree(tmp_path, pseudo_random_bytes(8 << 20))  # (smaller, workers write what one thread writes)
    blob = commit_layer(store, lambda out: write_layer_tar(tree, out))
    single_threaded = zstd_stream(tar_of(tree), threads=0)
    assert single_threaded != zstd_stream(tar_of(tree), threads=2)
    assert store.read_bytes(blob.digest) == single_threaded


def test_a_tar_of_many_compressed_pieces_passes_whole_through_the_pipeline(store, tmp_path):
    tree = one_file_tree(tmp_path, pseudo_random_bytes(5 << 20))  # several 1 MiB pieces out of zstd
    blob = commit_layer(store, lambda out: write_layer_tar(tree, out))
    stored = store.read_bytes(blob.digest)
    assert stored == zstd_stream(tar_of(tree), threads=0)
    assert (blob.digest, blob.size) == (sha256(stored), len(stored))


def test_a_failing_blob_write_fails_the_commit_and_stores_nothing(store, tree, monkeypatch):
    def full_disk(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(compression.BlobWriter, "write", full_disk)
    with pytest.raises(StoreError, match="no space left on device"):
        commit_layer(store, lambda out: write_layer_tar(tree, out))
    assert list(store.walk()) == [] and list(store.stale_ingests()) == []


def test_a_failing_tar_writer_stores_nothing(store):
    def broken(out):
        out.write(b"x" * 1000)
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        commit_layer(store, broken)
    assert list(store.walk()) == [] and list(store.stale_ingests()) == []


def test_a_layer_written_in_the_background_is_the_layer_commit_layer_writes(store, tree, storage_root):
    with layer_in_background(store, lambda out: write_layer_tar(tree, out)) as layer:
        blob = layer.commit()
    elsewhere = ContentStore(storage_root.__class__(storage_root.path.parent / "elsewhere"))
    assert blob == commit_layer(elsewhere, lambda out: write_layer_tar(tree, out))
    assert store.read_bytes(blob.digest) == elsewhere.read_bytes(blob.digest)


def test_a_background_layer_tells_what_it_will_commit_once_compressed(store, tree):
    with layer_in_background(store, lambda out: write_layer_tar(tree, out)) as layer:
        written = layer.written()
        assert layer.commit() == written
    assert store.read_bytes(written.digest)[:4] == b"\x28\xb5\x2f\xfd"


def test_a_background_layer_left_uncommitted_stores_nothing(store, tree):
    with pytest.raises(InvalidInputError):
        with layer_in_background(store, lambda out: write_layer_tar(tree, out)):
            raise InvalidInputError("the caller failed")
    assert list(store.walk()) == [] and list(store.stale_ingests()) == []


def test_a_background_layer_stops_writing_when_left_uncommitted(store):
    writes = []

    def endless(out):
        while True:
            out.write(b"x" * 4096)
            writes.append(1)

    with layer_in_background(store, endless):
        pass  # leaving the block must end the writer, not wait forever
    assert list(store.walk()) == [] and list(store.stale_ingests()) == []


def test_a_background_writers_error_is_raised_by_commit(store):
    def broken(out):
        out.write(b"x" * 1000)
        raise RuntimeError("disk on fire")

    for step in ("written", "commit"):
        with pytest.raises(RuntimeError, match="disk on fire"):
            with layer_in_background(store, broken) as layer:
                getattr(layer, step)()
    assert list(store.walk()) == [] and list(store.stale_ingests()) == []


@pytest.mark.parametrize("compression", list(Compression))
def test_open_layer_gives_the_uncompressed_tar_whatever_the_compression(store, tree, compression):
    blob = commit_layer(store, lambda out: write_layer_tar(tree, out), compression)
    with open_layer(store, blob.digest) as layer:
        assert layer.read() == tar_of(tree)


def test_applying_a_corrupt_blob_raises_an_integrity_error(store, tree, tmp_path):
    blob = commit_layer(store, lambda out: write_layer_tar(tree, out))
    other = commit_layer(store, lambda out: out.write(build_tar((member("f"), b"other"))), Compression.ZSTD)
    path = Path(store.path(blob.digest))
    os.chmod(path, 0o644)
    path.write_bytes(Path(store.path(other.digest)).read_bytes())  # valid zstd, wrong content
    (tmp_path / "t").mkdir()
    with pytest.raises(IntegrityError, match="corrupt"):
        with open_layer(store, blob.digest) as layer:
            apply_layer(layer, tmp_path / "t", same_owner=False)


@pytest.mark.parametrize("wrap", [lambda tar: tar, gzip.compress, zstandard.ZstdCompressor().compress], ids=["plain", "gzip", "zstd"])
def test_store_layer_from_tar_accepts_plain_gzip_and_zstd_input(store, tree, wrap):
    plain = tar_of(tree)
    blob = store_layer_from_tar(store, io.BytesIO(wrap(plain)))
    assert blob.diff_id == sha256(plain)
    with open_layer(store, blob.digest) as layer:
        assert layer.read() == plain


def test_store_layer_from_tar_keeps_every_byte_including_trailing_padding(store):
    plain = build_tar((member("f"), b"x")) + bytes(10240)  # GNU tar pads to 10 KiB records
    blob = store_layer_from_tar(store, io.BytesIO(plain), Compression.NONE)
    assert blob.digest == blob.diff_id == sha256(plain)


def test_store_layer_from_tar_refuses_more_than_max_size(store, tree):
    with pytest.raises(UnsafeArchiveError, match="larger than"):
        store_layer_from_tar(store, io.BytesIO(tar_of(tree)), max_size=100_000)
    assert list(store.walk()) == []


def test_a_truncated_gzip_layer_is_refused(store, tree):
    data = gzip.compress(tar_of(tree))
    with pytest.raises(UnsafeArchiveError, match="gzip"):
        store_layer_from_tar(store, io.BytesIO(data[: len(data) // 2]))


def test_garbage_after_a_gzip_magic_is_refused(store):
    with pytest.raises(UnsafeArchiveError, match="gzip"):
        store_layer_from_tar(store, io.BytesIO(b"\x1f\x8b" + b"garbage" * 100))


def test_a_truncated_zstd_layer_is_refused(store, tree):
    data = zstandard.ZstdCompressor().compress(tar_of(tree))
    with pytest.raises(UnsafeArchiveError, match="truncated"):
        store_layer_from_tar(store, io.BytesIO(data[: len(data) // 2]))


@pytest.mark.parametrize(
    "media_type, compression",
    [
        ("application/vnd.oci.image.layer.v1.tar+zstd", Compression.ZSTD),
        ("application/vnd.oci.image.layer.v1.tar+gzip", Compression.GZIP),
        ("application/vnd.oci.image.layer.v1.tar", Compression.NONE),
        ("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", Compression.GZIP),
        ("application/vnd.docker.image.rootfs.diff.tar.gzip", Compression.GZIP),
        ("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", Compression.GZIP),
    ],
)
def test_layer_media_types_map_to_their_compression(media_type, compression):
    assert Compression.from_media_type(media_type) is compression


def test_docker_media_type_of_gzip_is_dockers_own():
    assert Compression.GZIP.docker_media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    assert Compression.ZSTD.docker_media_type == Compression.ZSTD.media_type


def test_an_unknown_media_type_is_an_input_error():
    with pytest.raises(InvalidInputError, match="not a layer media type"):
        Compression.from_media_type("application/vnd.oci.image.config.v1+json")


def test_compression_names_are_the_command_line_values():
    assert Compression.from_name("gzip") is Compression.GZIP
    with pytest.raises(InvalidInputError, match="zstd, gzip, none"):
        Compression.from_name("xz")


def test_a_tar_in_a_tar_file_is_stored_from_an_ordinary_file(store, tmp_path):
    path = tmp_path / "rootfs.tar"
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo("etc/os-release")
        info.size = 4
        archive.addfile(info, io.BytesIO(b"ID=x"))
    with open(path, "rb") as stream:
        blob = store_layer_from_tar(store, stream)
    assert blob.diff_id == sha256(path.read_bytes())
