"""Making what the store writes durable: a file's data synced as it grows, a directory's entries.

``BackgroundDataSync`` sends a file being written to disk as it grows, so
the fsync that makes it durable finds little left. A blob's final fsync
costs what is still unwritten *and* what the disk still holds in its cache:
on this VM (virtio, the host caching the image file) a 10 MiB file took
15-20 ms to fsync even after ``sync_file_range`` had written all of it back,
because only a flush makes the host write its cache. ``fdatasync`` flushes.
Calling it on a thread of its own, again whenever more was written, keeps
the disk busy while the producer goes on, and the final fsync of a 10 MiB
blob written at compression speed dropped to under 1 ms. This changes no
guarantee: the caller's fsync still decides when the file is durable; this
only makes that fsync cheap.

Nothing here needs ctypes (``dockpy.linux``): a commit publishes its blobs
without loading it.
"""

from __future__ import annotations

import os


class BackgroundDataSync:
    """``fdatasync(fd)`` on a thread, once more after each ``request()`` that came while it ran.

    ``finish()`` must be called before ``fd`` is closed. An error of a sync
    is kept and raised by ``finish()``: the kernel reports a writeback error
    to one sync call per open file, so the caller's own fsync may not see it.
    """

    def __init__(self, fd: int):
        import threading  # here: ``run`` imports this module (fsync_directory) and must not load threading

        self._fd = fd
        self._wanted = threading.Event()
        self._finishing = False
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._sync_while_wanted, name="dockpy-blob-writeback", daemon=True)
        self._thread.start()

    def request(self) -> None:
        """Sync what was written so far (the caller flushed its own buffers first), without waiting."""
        self._wanted.set()

    def finish(self) -> None:
        """Wait for the sync under way, then stop; raises the ``OSError`` a sync met."""
        self._finishing = True
        self._wanted.set()
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _sync_while_wanted(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._finishing:
                return
            try:
                os.fdatasync(self._fd)
            except OSError as error:
                self._error = error
                return


def fsync_directory(directory: str | os.PathLike) -> None:
    """fsync(2) on a directory, so a rename or a new entry in it survives a crash."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
