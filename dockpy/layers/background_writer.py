"""A writer that hands its data to another thread, so producing and consuming overlap.

A layer commit is two jobs in series: walking the tree and building the tar
(Python code and small system calls, holding the GIL), and hashing,
compressing and storing the bytes (``hashlib``, ``zstandard`` and ``os.write``,
which release the GIL on large buffers). Running the second on its own thread
lets the two use two CPUs; on a tree of many small files the tar builder is the
critical path, and everything taken off its thread makes the commit faster.

Small writes are batched to ``BATCH_SIZE`` before they cross threads, so the
queue's locking costs nothing measurable. Data passed to ``write`` is handed
over, not copied: the caller must not change a buffer after writing it.
"""

from __future__ import annotations

import queue
import threading

BATCH_SIZE = 1 << 20
QUEUE_DEPTH = 8  # chunks in flight: bounds the memory at about 8 MiB plus big-file chunks
_END = None
_RESTART = object()  # queued by restart(): the sink starts over when the thread gets there


class BackgroundWriter:
    """``with BackgroundWriter(sink) as out: ...``: ``out.write`` returns at once, ``sink.write`` runs on a thread.

    An error in ``sink.write`` is raised from the next ``write`` or from the
    ``with`` block's end; an error in the block stops the thread and propagates.
    """

    def __init__(self, sink, name: str = "dockpy-layer-writer"):
        self._sink = sink
        self._batch = bytearray()
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_DEPTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._consume, name=name, daemon=True)

    def __enter__(self) -> "BackgroundWriter":
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self._hand_over_batch()
        self._queue.put(_END)
        self._thread.join()
        if exc_type is None and self._error is not None:
            raise self._error

    def write(self, data) -> int:
        if self._error is not None:
            raise self._error
        size = len(data)
        if size >= BATCH_SIZE:
            self._hand_over_batch()
            self._queue.put(data)
        else:
            self._batch += data
            if len(self._batch) >= BATCH_SIZE:
                self._hand_over_batch()
        return size

    def restart(self) -> None:
        """The sink starts over (``sink.restart()``) once everything written before has reached it."""
        self._hand_over_batch()
        self._queue.put(_RESTART)

    def _hand_over_batch(self) -> None:
        if self._batch:
            self._queue.put(self._batch)
            self._batch = bytearray()

    def _consume(self) -> None:
        while (data := self._queue.get()) is not _END:
            if self._error is None:
                try:
                    if data is _RESTART:
                        self._sink.restart()
                    else:
                        self._sink.write(data)
                except BaseException as error:  # handed to the producer; keep draining so it never blocks
                    self._error = error
