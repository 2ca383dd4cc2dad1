"""Guest output, taken from QEMU by dockpy and counted, so that none is lost or overwritten.

QEMU writes the ``dockpy.stdout``/``dockpy.stderr`` ports into pipes of ours,
never straight into the caller's descriptors, for two reasons:

- Nothing is lost. The guest's writes return once its data is queued for
  QEMU, and QEMU takes from the queue only as fast as the descriptor it
  writes to accepts; if QEMU ends (the guest powered off, or we killed it)
  while a slow reader is behind, what it still holds is gone. The guest
  reports how many bytes each port sent; the host lets the VM end only once
  each relay has taken that many (``OutputRelay.has_taken``).
- Nothing is overwritten. QEMU opens its output chardevs by path
  (``/proc/self/fd/N``); for a regular file that is a *new* open file with its
  own offset, so a shell that later writes to the file through its own
  descriptor (``{ dockpy run ...; echo done; } > log``) would write over the
  guest's output. The relay writes through the caller's own descriptor, whose
  offset every writer shares.
"""

from __future__ import annotations

import os
import select
import threading
import time
from contextlib import ExitStack

RELAY_CHUNK = 1 << 16


class OutputRelay:
    """A thread copying the pipe QEMU writes into (``write_end``) to the caller's descriptor.

    ``taken`` counts the bytes read from QEMU. Once the caller's descriptor
    fails (its reader has gone), the relay keeps taking and counting but drops
    the output, as QEMU does when its own writes fail.
    """

    def __init__(self, target_fd: int):
        self._read_end, self.write_end = os.pipe()
        self._wake_read, self._wake_write = os.pipe()  # finish() ends a wait for QEMU's end of file
        self._target: int | None = os.dup(target_fd)
        self.taken = 0
        self._waiting_since: float | None = None  # monotonic time it began waiting for QEMU; None while it writes
        self._thread = threading.Thread(target=self._copy_until_end, name="guest-output", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()
        os.close(self._wake_read)
        os.close(self._wake_write)

    def finish(self) -> None:
        """End once what is taken is delivered, without waiting for QEMU's end of file.

        For a QEMU that was killed after the relay took every byte the guest
        reported: nothing more can come, and the end of file would come only
        once the kernel has torn QEMU down (~20 ms for its guest's memory).
        """
        os.write(self._wake_write, b"\0")

    def has_taken(self, count: int, idle_limit: float) -> bool:
        """True once ``count`` bytes have come from QEMU.

        Also true when they have not but the relay has waited ``idle_limit``
        seconds on an empty pipe: QEMU is not holding anything back then (it
        writes whenever the pipe has room), so waiting longer would only hang.
        """
        waiting_since = self._waiting_since
        return self.taken >= count or (waiting_since is not None and time.monotonic() - waiting_since > idle_limit)

    def _copy_until_end(self) -> None:
        try:
            while chunk := self._next_chunk():
                self.taken += len(chunk)
                self._deliver(memoryview(chunk))
        finally:
            os.close(self._read_end)
            if self._target is not None:
                os.close(self._target)

    def _next_chunk(self) -> bytes:
        """The next output, or b"" at QEMU's end of file or, with nothing left to read, after ``finish``."""
        self._waiting_since = time.monotonic()
        readable, _, _ = select.select([self._read_end, self._wake_read], [], [])
        chunk = os.read(self._read_end, RELAY_CHUNK) if self._read_end in readable else b""
        self._waiting_since = None
        return chunk

    def _deliver(self, view: memoryview) -> None:
        try:
            while view and self._target is not None:
                view = view[self._write_some(view):]
        except OSError:  # EPIPE, EIO, ENOSPC...: the caller's reader or file is gone
            os.close(self._target)
            self._target = None

    def _write_some(self, view: memoryview) -> int:
        """One write; a caller's descriptor left non-blocking by its owner is waited for, not given up on."""
        try:
            return os.write(self._target, view)
        except BlockingIOError:
            select.select([], [self._target], [])
            return 0


def start_output_relay(fd: int, helpers: ExitStack) -> OutputRelay:
    """A running relay from a new pipe (give QEMU ``relay.write_end``) to the caller's ``fd``.

    Registers on ``helpers`` what ends it: closing our copy of the pipe's write
    end (QEMU's copy closes when it exits), then waiting for the copy to finish.
    """
    relay = OutputRelay(fd)
    relay.start()
    helpers.callback(relay.join)
    helpers.callback(os.close, relay.write_end)
    return relay
