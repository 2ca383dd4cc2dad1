"""``RUN --mount=type=cache``: directories that persist across builds, one set per cache id.

They live in ``<root>/build-cache-mounts``: instance ``<name>`` (``<name>``
is a hash of the id), with a lock file ``<name>.lock`` beside it (never
inside: the directory is what the step sees). ``sharing=`` decides who may
use one at the same time, as in BuildKit:

- ``shared`` (the default): any number of steps at once, in any builds; each
  holds a shared ``flock`` on the lock file, so a ``locked`` user waits for
  them and they wait for it;
- ``locked``: one step at a time holds the directory (an exclusive
  ``flock``); the others wait for it;
- ``private``: a step never waits and never shares: it takes the first
  instance no one is using (``<name>``, ``<name>-1``, ``<name>-2``, ...),
  making a new, empty one when all are busy. Instances persist like the
  first one, so later steps find what earlier ones left.

``flock`` locks vanish with their process, even on SIGKILL: a killed build
never leaves a cache mount locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import os
from collections.abc import Iterator

from dockpy.build.runmounts import RunMount

CACHE_MOUNTS_DIRECTORY = "build-cache-mounts"
LOCK_SUFFIX = ".lock"


@contextlib.contextmanager
def cache_mount_directory(root_path: str, mount: RunMount) -> Iterator[str]:
    """The host directory for ``mount``, held as its ``sharing`` mode says until the block ends."""
    parent = os.path.join(root_path, CACHE_MOUNTS_DIRECTORY)
    os.makedirs(parent, exist_ok=True)
    name = hashlib.sha256(mount.id.encode()).hexdigest()[:32]
    if mount.sharing == "private":
        lock_fd, directory = _free_instance(parent, name)
    else:
        directory = os.path.join(parent, name)
        lock_fd = _lock(directory, fcntl.LOCK_EX if mount.sharing == "locked" else fcntl.LOCK_SH)
    try:
        _create(directory, mount)
        yield directory
    finally:
        os.close(lock_fd)


def _free_instance(parent: str, name: str) -> tuple[int, str]:
    """The first instance of ``name`` nobody holds, locked exclusively (a new one when all are in use)."""
    for number in itertools.count():  # ends by the number of steps running at once
        directory = os.path.join(parent, name if number == 0 else f"{name}-{number}")
        with contextlib.suppress(BlockingIOError):
            return _lock(directory, fcntl.LOCK_EX | fcntl.LOCK_NB), directory


def _lock(directory: str, operation: int) -> int:
    """An open lock file of ``directory`` with ``flock(operation)`` held.

    ``builder prune`` removes an instance and its lock file under the
    exclusive lock; whoever was waiting for that lock then holds it on a file
    no one else will open, so it opens the path again.
    """
    path = directory + LOCK_SUFFIX
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, operation)
            if _is_linked_at(fd, path):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _is_linked_at(fd: int, path: str) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _create(directory: str, mount: RunMount) -> None:
    """A new instance gets the mount's mode and owner (``mode=``, ``uid=``, ``gid=``); an old one keeps its own."""
    if os.path.isdir(directory):
        return
    os.makedirs(directory, exist_ok=True)
    os.chmod(directory, mount.mode if mount.mode is not None else 0o755)
    os.chown(directory, mount.uid, mount.gid)
