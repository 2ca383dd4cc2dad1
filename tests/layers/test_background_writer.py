"""The background writer: order, batching, and errors on either side."""

from __future__ import annotations

import threading

import pytest

from dockpy.layers.background_writer import BATCH_SIZE, BackgroundWriter


class RecordingSink:
    def __init__(self, fail_after: int | None = None):
        self.chunks: list[bytes] = []
        self.threads: set[str] = set()
        self._fail_after = fail_after

    def write(self, data) -> int:
        if self._fail_after is not None and len(self.chunks) >= self._fail_after:
            raise OSError(28, "No space left on device")
        self.chunks.append(bytes(data))
        self.threads.add(threading.current_thread().name)
        return len(data)


def test_everything_written_arrives_in_order_on_another_thread():
    sink = RecordingSink()
    pieces = [bytes([n % 256]) * (n * 997 % 5000) for n in range(3000)] + [b"z" * (2 * BATCH_SIZE)]
    with BackgroundWriter(sink) as out:
        for piece in pieces:
            out.write(piece)
    assert b"".join(sink.chunks) == b"".join(pieces)
    assert sink.threads == {"dockpy-layer-writer"}


def test_a_restart_reaches_the_sink_after_everything_written_before_it():
    class RestartableSink(RecordingSink):
        def restart(self) -> None:
            self.chunks.append(b"<restart>")

    sink = RestartableSink()
    with BackgroundWriter(sink) as out:
        out.write(b"small, still batched")
        out.restart()
        out.write(b"after")
    assert sink.chunks == [b"small, still batched", b"<restart>", b"after"]


def test_small_writes_cross_threads_in_batches():
    sink = RecordingSink()
    with BackgroundWriter(sink) as out:
        for _ in range(10_000):
            out.write(b"x" * 512)
    assert len(sink.chunks) <= 10_000 * 512 // BATCH_SIZE + 1


def test_an_error_in_the_sink_is_raised_in_the_writing_thread():
    sink = RecordingSink(fail_after=1)
    with pytest.raises(OSError, match="No space"):
        with BackgroundWriter(sink) as out:
            for _ in range(100):
                out.write(b"y" * BATCH_SIZE)


def test_an_error_in_the_block_stops_the_thread_and_propagates():
    sink = RecordingSink()
    with pytest.raises(ValueError, match="tree vanished"):
        with BackgroundWriter(sink) as out:
            out.write(b"a" * BATCH_SIZE)
            raise ValueError("tree vanished")
    assert "dockpy-layer-writer" not in {thread.name for thread in threading.enumerate()}
