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

import contextlib
import os
from collections import namedtuple

from dockpy.errors import NotFoundError


class RunnableImage(namedtuple("RunnableImage", "reference id layers config", defaults=(None,))):
    """An image ready to be a container's root.

    ``reference`` is what the user named it by, ``id`` its image id (``""``
    for ``--rootfs``); ``layers`` are directories, top-most first. ``config``
    is the ``config`` object of the OCI image config (Entrypoint, Cmd, Env,
    WorkingDir, User, StopSignal...), a dict, never None.
    """

    __slots__ = ()

    def __new__(cls, reference: str, id: str, layers: tuple[str, ...], config: dict | None = None):
        return super().__new__(cls, reference, id, layers, {} if config is None else config)


def rootfs_image(path: str) -> RunnableImage:
    directory = os.path.abspath(path)
    if not os.path.isdir(directory):
        raise NotFoundError(f"rootfs directory {directory} does not exist")
    return RunnableImage(reference=directory, id="", layers=(directory,))


def resolve_image(root, reference: str, database=None) -> RunnableImage:
    """An image of the store: its layers unpacked into snapshots (once; later runs reuse them).

    A template's image is made on first use (``dockpy run busybox`` in a fresh root).

    An image run before, whose snapshots are all still there, is resolved
    from the catalog and the runtime's memo alone (``image_cache``); else its
    blobs are read and any missing layer is unpacked. ``database``: an open
    connection to the root's database to look the image up with (the
    container store's, so that ``run`` opens one); without it, one is opened
    for the lookup.
    """
    from dockpy.image.catalog import ensure_catalog
    from dockpy.layers.snapshots import Snapshotter
    from dockpy.runtime.image_cache import cached_run_config

    with Snapshotter(root, database) as snapshotter:
        connection = ensure_catalog(snapshotter.connection)
        manifest_digest = _manifest_of(root, connection, reference)
        run_config = cached_run_config(connection, manifest_digest)
        layers = None if run_config is None else snapshotter.committed_directories(run_config.chain_ids[::-1])
        if layers is None:
            run_config, layers = _unpack(root, manifest_digest, snapshotter)
    return RunnableImage(reference, run_config.image_id, tuple(str(path) for path in layers), run_config.config)


def _manifest_of(root, connection, reference: str) -> str:
    """The manifest ``reference`` names; a template image (busybox, debian:<suite>) is made the first time,
    as a FROM line makes it."""
    from dockpy.image.lookup import find_manifest

    try:
        return find_manifest(connection, reference)
    except NotFoundError:
        from dockpy.image.base_images import find_base_image
        from dockpy.image.store import ImageStore

        with ImageStore(root) as store:
            return find_base_image(store, reference, epoch=None).manifest_digest


def _unpack(root, manifest_digest: str, snapshotter):
    """Read the image's blobs and unpack what is missing; its ``RunConfig`` (now memoized) and layer dirs."""
    from dockpy.image.store import ImageStore
    from dockpy.image.unpack import unpack_image
    from dockpy.layers.digests import chain_ids
    from dockpy.runtime.image_cache import RunConfig, remember_run_config

    with ImageStore(root) as store:
        image = store.read_image(manifest_digest)
        with store.writing():
            layers = unpack_image(store, image, snapshotter)
        config = image.config.config.to_json() if image.config.config else {}
        run_config = RunConfig(str(image.id), config, tuple(chain_ids(image.config.rootfs.diff_ids)))
        remember_run_config(store.db, manifest_digest, run_config)
    return run_config, layers


def hold_image(connection, container_id: str, image_id: str) -> None:
    """Keep the image (and so its snapshots) from gc and rmi while the container exists.

    Call it inside the transaction that adds the container, under ``holding_images``:
    the record and its hold then commit together.
    """
    from dockpy.image import catalog

    catalog.add_root(connection, container_holder(container_id), "image", image_id)


def release_image(connection, container_id: str) -> None:
    """The hold's end, inside the transaction that deletes the container."""
    from dockpy.image import catalog

    catalog.remove_roots(connection, container_holder(container_id))


def holding_images(root, image_id: str):
    """The lease a writer of a gc root holds (see ``dockpy.image.lease``); none when there is no image."""
    if not image_id:
        return contextlib.nullcontext()
    from dockpy.image.lease import write_lease

    return write_lease(root)


def container_holder(container_id: str) -> str:
    return f"container:{container_id}"
