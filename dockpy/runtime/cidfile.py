"""``--cidfile FILE``: the new container's id written to a file, as Docker's CLI does it.

Docker refuses a file that already exists (it may name a container still
running) before it makes anything; the id (64 hex digits, no newline) is
written once the container's record exists, so the file never names a
container that is not there.
"""

from __future__ import annotations

import os

from dockpy.errors import ConflictError, NotFoundError


def check_cidfile_free(path: str) -> None:
    """Refuse an existing file, or one whose directory is missing, before the container is made."""
    if os.path.lexists(path):
        raise ConflictError(f"container ID file found, make sure the other container isn't running or delete {path}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise NotFoundError(f"failed to create the container ID file: open {path}: no such file or directory")


def write_cidfile(path: str, container_id: str) -> None:
    """Write ``container_id`` to a new file at ``path`` (exclusively: a file made meanwhile is not overwritten)."""
    try:
        with open(path, "x") as file:
            file.write(container_id)
    except FileExistsError:
        raise ConflictError(f"container ID file found, make sure the other container isn't running or delete {path}") from None
