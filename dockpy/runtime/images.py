"""What the runtime needs of an image: its config and its layers as directories.

An image from the store resolves to its snapshots (one unpacked directory
per layer, top-most first). ``--rootfs DIR`` (podman's flag) runs a plain
directory instead, as the one read-only layer under the container's upper
dir, with an empty config: the container's changes still go to its own
upper dir, never into DIR.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dockpy.errors import NotFoundError


@dataclass(frozen=True)
class RunnableImage:
    """An image ready to be a container's root.

    ``config`` is the ``config`` object of the OCI image config (Entrypoint,
    Cmd, Env, WorkingDir, User, StopSignal...); ``layers`` are top-most first.
    """

    reference: str
    id: str
    layers: tuple[str, ...]
    config: dict = field(default_factory=dict)


def rootfs_image(path: str) -> RunnableImage:
    directory = os.path.abspath(path)
    if not os.path.isdir(directory):
        raise NotFoundError(f"rootfs directory {directory} does not exist")
    return RunnableImage(reference=directory, id="", layers=(directory,))


def resolve_image(root, reference: str) -> RunnableImage:
    """An image of the store, by reference; until the image store is merged only --rootfs works."""
    raise NotFoundError(f"no such image: {reference}", hint="Run a root filesystem directory with --rootfs DIR.")
