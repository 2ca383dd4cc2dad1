"""Guest output into a regular file, without overwriting what others write there.

QEMU opens its output chardevs by path (``/proc/self/fd/N``). For a pipe or a
terminal that is the same object; for a regular file it is a *new* open file
with its own offset, so a shell that later writes to the file through its own
descriptor (``{ dockpy run ...; echo done; } > log``) writes over the guest's
output. For regular files QEMU therefore gets a pipe, and a thread copies the
pipe into the caller's own descriptor, whose offset every writer shares.
"""

from __future__ import annotations

import os
import stat
import threading
from contextlib import ExitStack

RELAY_CHUNK = 1 << 16


def output_fd_for_qemu(fd: int, helpers: ExitStack) -> int:
    """The descriptor QEMU should write to for the caller's ``fd``; relayed if it is a regular file.

    Registers on ``helpers`` what ends the relay: closing our copy of the pipe's
    write end (QEMU's copy closes when it exits), then waiting for the copy to finish.
    """
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        duplicate = os.dup(fd)
        helpers.callback(os.close, duplicate)
        return duplicate
    read_end, write_end = os.pipe()
    target = os.dup(fd)
    copier = threading.Thread(target=_copy_until_end, args=(read_end, target), name="guest-output", daemon=True)
    copier.start()
    helpers.callback(copier.join)
    helpers.callback(os.close, write_end)
    return write_end


def _copy_until_end(read_end: int, target: int) -> None:
    try:
        while chunk := os.read(read_end, RELAY_CHUNK):
            view = memoryview(chunk)
            while view:
                view = view[os.write(target, view):]
    finally:
        os.close(read_end)
        os.close(target)
