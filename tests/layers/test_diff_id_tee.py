"""The diff_id computed beside a blob's staging: right for gzip and zstd, absent for plain, never hanging."""

from __future__ import annotations

import gzip
import io

import pytest
import zstandard

from dockpy.layers.diff_id_tee import DiffIdTee
from dockpy.layers.digests import DiffID

PAYLOAD = bytes(range(256)) * 20_000  # 5 MB: several chunks through the queue


def read_through(data: bytes, chunk: int = 1 << 20) -> tuple[bytes, DiffIdTee]:
    with DiffIdTee(io.BytesIO(data)) as tee:
        parts = []
        while part := tee.read(chunk):
            parts.append(part)
    return b"".join(parts), tee


@pytest.mark.parametrize("compress", [gzip.compress, zstandard.ZstdCompressor().compress], ids=["gzip", "zstd"])
def test_a_compressed_stream_passes_through_and_yields_its_diff_id(compress):
    blob = compress(PAYLOAD)
    passed, tee = read_through(blob)
    assert passed == blob and tee.compressed
    assert tee.finish() == DiffID.of_bytes(PAYLOAD)


def test_a_plain_stream_starts_no_thread_and_has_no_diff_id():
    passed, tee = read_through(PAYLOAD)
    assert passed == PAYLOAD and not tee.compressed and tee.finish() is None


def test_a_corrupt_stream_gives_no_diff_id_and_does_not_block_the_reader():
    blob = bytearray(gzip.compress(PAYLOAD))
    blob[100:200] = bytes(100)
    passed, tee = read_through(bytes(blob), chunk=4096)
    assert len(passed) == len(blob) and tee.finish() is None


def test_leaving_the_block_half_way_ends_the_thread():
    blob = gzip.compress(PAYLOAD)
    with pytest.raises(RuntimeError):
        with DiffIdTee(io.BytesIO(blob)) as tee:
            tee.read(1000)
            raise RuntimeError("the staging write failed")
    assert tee.finish() is None  # a truncated stream: no diff_id, and the thread is gone
