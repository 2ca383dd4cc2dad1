"""What the runtime needs of an image: its config and its layers as directories.

An image from the store resolves to its snapshots (one unpacked directory
per layer, top-most first), and the container holds the image in the
store's gc roots until it is removed, so neither ``rmi`` nor ``gc`` takes
its layers away. ``--rootfs DIR`` (podman's flag) runs a plain
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
    """An image of the store: its layers unpacked into snapshots (once; later runs reuse them)."""
    from dockpy.image.store import ImageStore
    from dockpy.image.unpack import unpack_image
    from dockpy.layers.snapshots import Snapshotter

    with ImageStore(root) as store:
        image = store.resolve(reference)
        with store.writing():
            layers = unpack_image(store, image, Snapshotter(root))
    config = image.config.config.to_json() if image.config.config else {}
    return RunnableImage(reference=reference, id=str(image.id), layers=tuple(str(path) for path in layers), config=config)


def hold_image(root, container_id: str, image: RunnableImage) -> None:
    """Keep the image (and so its snapshots) from gc and rmi while the container exists."""
    if image.id:
        from dockpy.image.refs import Refs

        with Refs(root) as refs:
            refs.hold(container_holder(container_id), image_id=image.id)


def release_image(root, container_id: str) -> None:
    from dockpy.image.refs import Refs

    with Refs(root) as refs:
        refs.release(container_holder(container_id))


def container_holder(container_id: str) -> str:
    return f"container:{container_id}"
