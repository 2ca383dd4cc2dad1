"""The lock that keeps garbage collection from deleting work in progress.

A writer stores blobs first and records them in the database afterwards
(import: layer and config blobs, then one transaction adding the image and
its revision). Between the two, the blobs are reachable from nothing, and a
collector marking from the database would delete them. So:

- every operation that creates objects or adds a reference to one holds a
  *shared* lease on ``<root>/gc.lock`` from before its first blob until its
  transaction has committed; any number of such writers run at once;
- ``gc`` takes the lease *exclusively*: it starts only when no writer is
  between its blobs and its commit, and writers wait while it runs.

``flock`` locks belong to the open file and vanish when a process dies, even
by SIGKILL, so a crashed writer never blocks gc. Readers need no lease.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from dockpy.errors import ConflictError, StoreError
from dockpy.root import StorageRoot

LEASE_FILE = "gc.lock"


@contextlib.contextmanager
def write_lease(root: StorageRoot) -> Iterator[None]:
    """Hold while writing blobs that a later transaction will reference."""
    with _locked(root, fcntl.LOCK_SH):
        yield


@contextlib.contextmanager
def collector_lease(root: StorageRoot, *, wait: bool = True) -> Iterator[None]:
    """Exclusive: no writer is mid-way. With ``wait=False``, raises ``ConflictError`` if one is."""
    with _locked(root, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)):
        yield


@contextlib.contextmanager
def _locked(root: StorageRoot, operation: int) -> Iterator[None]:
    path = root.join(LEASE_FILE)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise StoreError(f"open {path}: {error.strerror}") from error
    try:
        try:
            fcntl.flock(fd, operation)
        except BlockingIOError:
            raise ConflictError("another dockpy process is writing to the store") from None
        yield
    finally:
        os.close(fd)
