"""Background fdatasync of a file being written: errors reach the caller, no thread outlives it."""

import errno
import os

import pytest

from dockpy.layers.durability import BackgroundDataSync, fsync_directory
from tests.layers.conftest import writeback_threads


def test_finish_after_requests_leaves_the_file_intact_and_no_thread(tmp_path):
    path = tmp_path / "blob"
    with open(path, "wb") as file:
        sync = BackgroundDataSync(file.fileno())
        for _ in range(3):
            file.write(b"x" * 100_000)
            file.flush()
            sync.request()
        sync.finish()
        assert writeback_threads() == []
    assert path.read_bytes() == b"x" * 300_000


def test_finish_raises_the_error_a_background_sync_met(tmp_path, failing_fdatasync):
    with open(tmp_path / "blob", "wb") as file:
        sync = BackgroundDataSync(file.fileno())
        sync.request()
        assert failing_fdatasync.wait(10)
        with pytest.raises(OSError) as raised:
            sync.finish()
    assert raised.value.errno == errno.EIO


def test_finish_without_a_request_syncs_nothing_and_raises_nothing():
    read_end, write_end = os.pipe()  # a sync would fail: none must happen
    try:
        BackgroundDataSync(write_end).finish()
    finally:
        os.close(read_end)
        os.close(write_end)


def test_fsync_directory_syncs_a_directory_and_refuses_a_file(tmp_path):
    fsync_directory(tmp_path)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        fsync_directory(tmp_path / "file")
