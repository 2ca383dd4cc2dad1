"""The content store: atomic, verified, idempotent blobs."""

import io
import os
from pathlib import Path

import pytest

from dockpy.errors import IntegrityError, NotFoundError
from dockpy.layers.content import ContentStore
from dockpy.layers.digests import ChainID, DiffID, Digest, chain_ids
from tests.layers.conftest import writeback_threads


def test_put_then_read_returns_the_same_bytes(storage_root):
    store = ContentStore(storage_root)
    info = store.put_bytes(b"hello")
    assert info.digest == "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert info.size == 5
    assert store.read_bytes(info.digest) == b"hello"


def test_putting_existing_content_again_is_a_no_op(storage_root):
    store = ContentStore(storage_root)
    first = store.put_stream(io.BytesIO(b"x" * 3_000_000))
    second = store.put_stream(io.BytesIO(b"x" * 3_000_000))
    assert first == second
    assert [info.digest for info in store.walk()] == [first.digest]


def test_storing_existing_content_again_keeps_the_stored_file_and_leaves_no_temporary(storage_root):
    store = ContentStore(storage_root)
    first = store.put_bytes(b"same bytes")
    inode = os.stat(store.path(first.digest)).st_ino
    store.put_bytes(b"same bytes")
    assert os.stat(store.path(first.digest)).st_ino == inode
    assert list(store.stale_ingests()) == []


def test_an_ingest_file_is_private_until_published(storage_root):
    store = ContentStore(storage_root)
    with store.writer() as blob:
        blob.write(b"partial")
        (temporary,) = storage_root.tmp.iterdir()
        assert temporary.name.startswith("ingest-")
        assert temporary.stat().st_mode & 0o777 == 0o600


def test_a_wrong_expected_digest_stores_nothing(storage_root):
    store = ContentStore(storage_root)
    with pytest.raises(IntegrityError, match="digest mismatch"):
        store.put_stream(io.BytesIO(b"payload"), expected=Digest.of_bytes(b"other"))
    assert list(store.walk()) == []
    assert list(store.stale_ingests()) == []


def test_a_stream_longer_than_declared_is_refused_early(storage_root):
    store = ContentStore(storage_root)
    with pytest.raises(IntegrityError, match="larger than"):
        store.put_stream(io.BytesIO(b"y" * 100), expected_size=10)
    assert list(store.walk()) == []


def test_corruption_on_disk_is_detected_on_read(storage_root):
    store = ContentStore(storage_root)
    info = store.put_bytes(b"important")
    path = Path(store.path(info.digest))
    os.chmod(path, 0o644)
    path.write_bytes(b"importanT")
    with pytest.raises(IntegrityError, match="corrupt"):
        store.verify(info.digest)


def test_a_blob_written_back_in_chunks_while_written_is_stored_intact(storage_root):
    from dockpy.layers.content import WRITEBACK_CHUNK

    store = ContentStore(storage_root)
    data = bytes(range(256)) * ((WRITEBACK_CHUNK * 2 + 12345) // 256)
    with store.writer() as blob:
        for start in range(0, len(data), 1 << 20):
            blob.write(data[start : start + (1 << 20)])
        info = blob.commit()
    assert info.digest == Digest.of_bytes(data)
    assert store.read_bytes(info.digest) == data


def test_a_blob_synced_before_commit_is_published_intact(storage_root):
    store = ContentStore(storage_root)
    with store.writer() as blob:
        blob.write(b"synced early")
        blob.sync()
        info = blob.commit()
    assert store.read_bytes(info.digest) == b"synced early"


def test_a_restarted_blob_holds_only_what_was_written_after_the_restart(storage_root):
    from dockpy.layers.content import WRITEBACK_CHUNK

    store = ContentStore(storage_root)
    with store.writer() as blob:
        blob.write(b"x" * (WRITEBACK_CHUNK + 1))  # past a writeback, so the restart also forgets that
        blob.sync()
        blob.restart()
        blob.write(b"second try")
        info = blob.commit()
    assert (info.digest, info.size) == (Digest.of_bytes(b"second try"), len(b"second try"))
    assert store.read_bytes(info.digest) == b"second try"


def test_reading_a_missing_blob_is_not_found(storage_root):
    with pytest.raises(NotFoundError):
        ContentStore(storage_root).read_bytes(Digest.of_bytes(b"absent"))


def test_digest_types_validate_and_stay_distinct():
    diff_id = DiffID.of_bytes(b"layer")
    assert isinstance(diff_id, DiffID) and not isinstance(diff_id, ChainID)
    with pytest.raises(ValueError):
        Digest("sha256:xyz")


def test_chain_id_follows_the_oci_definition():
    a, b = DiffID.of_bytes(b"a"), DiffID.of_bytes(b"b")
    chain = chain_ids([a, b])
    assert chain[0] == a
    assert chain[1] == ChainID.of_bytes(f"{a} {b}".encode())


def test_a_failed_background_writeback_fails_the_commit_and_stores_nothing(storage_root, failing_fdatasync):
    from dockpy.errors import StoreError
    from dockpy.layers.content import WRITEBACK_CHUNK

    store = ContentStore(storage_root)
    with pytest.raises(StoreError, match="Input/output error"), store.writer() as blob:
        blob.write(b"x" * (WRITEBACK_CHUNK + 1))
        assert failing_fdatasync.wait(10)  # the writeback thread met the error; the final fsync would not see it
        blob.commit()
    assert list(store.walk()) == []
    assert list(store.stale_ingests()) == []


def test_a_blob_dropped_after_writeback_started_leaves_no_thread_and_no_file(storage_root):
    from dockpy.layers.content import WRITEBACK_CHUNK

    store = ContentStore(storage_root)
    with store.writer() as blob:
        blob.write(b"x" * (WRITEBACK_CHUNK * 2))
    assert writeback_threads() == []
    assert list(store.stale_ingests()) == []
