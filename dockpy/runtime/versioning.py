"""A container's changes as versions: ``diff``, ``commit``, ``export`` and ``rollback`` of a container.

The container's upper dir *is* its layer (DESIGN §1): ``diff`` walks only
the upper dir, ``commit`` archives only the upper dir, so both cost time in
proportion to what changed, never to the image's size. dockpy's own /etc
files and mount points live in the init layer and bind mounts, never in the
upper dir, so they are neither in a diff nor in a commit (Docker's rule).

``commit`` works on a running container without pausing it: the upper dir
is read as it is at that moment (a file written meanwhile may or may not be
in the layer, as with ``docker commit --pause=false``). ``rollback`` empties
the upper dir, so the container is its image again; a running container
must be stopped first, because overlayfs forbids changing an upper dir
under a mounted overlay.

The three need a container's record (``ContainerStore``), not the lifecycle
and its backends, so ``diff`` and ``commit`` import no more. Only ``diff``
reads the spec, for the layers below; the upper and work dirs are where
every container keeps them (``ContainerPaths``), so ``commit`` starts its
layer without parsing the spec.
"""

from __future__ import annotations

import os
import time

from dockpy.errors import ConflictError, InvalidInputError
from dockpy.runtime.containers import ContainerRecord, ContainerStore


def container_changes(containers: ContainerStore, reference: str):
    """``docker diff``: the sorted A/C/D changes of the container against its image."""
    from dockpy.layers.changes import list_changes

    record = containers.get(reference)
    rootfs = containers.spec_of(record).rootfs
    # No ``mountpoint``: a container's overlay is mounted in its own mount namespace (or in its
    # VM), never in dockpy's, so /proc/self/mountinfo cannot tell; the walk finds redirects itself.
    return list_changes(rootfs.upperdir, rootfs.layers)


def commit_container(containers: ContainerStore, reference: str, name_tag: str | None = None, *, message: str = "",
                     author: str | None = None, changes: tuple[str, ...] = ()):
    """The upper dir becomes one new layer on the container's image; returns the new image.

    ``changes`` are Dockerfile instructions (``-c``) applied to the config;
    with ``name_tag``, the image becomes that tag's next revision (operation ``commit``).
    The layer is written on a thread from the start: reading the base image
    (and importing the image model) happens while its blob is compressed and
    fsynced, and a bad ``-c`` or tag stores nothing.
    """
    from dockpy.image.lease import write_lease
    from dockpy.layers.compression import layer_in_background
    from dockpy.layers.content import ContentStore
    from dockpy.layers.tarwriter import write_layer_tar

    record = containers.get(reference)
    if not record.image_id:
        raise InvalidInputError(f"container {record.name} runs a root filesystem directory, not an image: there is no image to commit onto")
    upper = containers.paths(record.id).upper  # the layout says where; the spec (JSON) is not needed
    with write_lease(containers.root), layer_in_background(ContentStore(containers.root),
                                                           lambda out: write_layer_tar(upper, out)) as layer:
        return _commit_image(containers, record, layer, name_tag, message, author, changes)


def _commit_image(containers: ContainerStore, record: ContainerRecord, layer, name_tag: str | None, message: str,
                  author: str | None, changes: tuple[str, ...]):
    """The image of ``record``'s image plus ``layer`` (a ``PendingLayer``), stored, recorded and tagged."""
    from dockpy.image.oci import ContainerConfig, Descriptor
    from dockpy.image.reference import parse_tag_reference
    from dockpy.image.refs import default_author
    from dockpy.image.store import ImageStore
    from dockpy.runtime.commit_changes import apply_changes

    if name_tag:
        parse_tag_reference(name_tag)  # a bad tag must fail before anything is stored
    author = author or default_author()
    with ImageStore(containers.root, containers.database) as store:
        base = store.resolve(record.image_id.removeprefix("sha256:"))
        container_config = apply_changes(base.config.config or ContainerConfig(), changes)
        blob = layer.written()
        config = _config_with_layer(base.config, blob.diff_id, container_config, _created_by(record.command), author, message)
        # The config and manifest are written while the layer's fsync goes on; the image is recorded once it is done.
        image = store.put_image_blobs(config, [*base.layers, Descriptor(blob.media_type, blob.digest, blob.size)])
        layer.commit()
        store.record_image(image)
        if name_tag:
            store.add_revision(name_tag, image, operation="commit", author=author, message=message)
    return image


def _config_with_layer(base_config, diff_id, container_config, created_by: str, author: str, message: str):
    """``base_config`` plus one layer made now, its history entry, and the container config to run."""
    from dockpy.image.oci import HistoryEntry
    from dockpy.image.timestamps import format_timestamp

    created = format_timestamp(time.time())
    entry = HistoryEntry(created=created, created_by=created_by, author=author, comment=message or None)
    return base_config.with_layer(diff_id, entry).replace(created=created, author=author, config=container_config)


def export_container(containers: ContainerStore, reference: str, out) -> None:
    """``docker export``: the container's root filesystem, its image's layers with its changes on top, as one tar.

    The upper dir is read as a commit reads it (a layer tar, whiteouts and
    all), so a running container can be exported too.
    """
    from dockpy.image.rootfs_archive import export_rootfs
    from dockpy.image.store import ImageStore
    from dockpy.layers.tarwriter import write_layer_tar

    record = containers.get(reference)
    if not record.image_id:
        raise InvalidInputError(f"container {record.name} runs a root filesystem directory, not an image: export the directory itself")
    upper = containers.paths(record.id).upper
    with ImageStore(containers.root, containers.database) as store:  # the connection that found the record
        export_rootfs(store, record.image_id.removeprefix("sha256:"), out, top_layer=lambda tar: write_layer_tar(upper, tar))


def rollback_container(containers: ContainerStore, reference: str) -> None:
    """Discard every change the container made: its filesystem is its image's again."""
    record = containers.get(reference)
    if record.is_running:
        raise ConflictError(f"cannot roll back running container {record.name}", hint="Stop it first (dockpy stop).")
    paths = containers.paths(record.id)
    for directory in (paths.upper, paths.work):
        _empty_directory(directory)


def _empty_directory(path: str) -> None:
    import shutil

    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)


def _created_by(command: tuple[str, ...]) -> str:
    return " ".join(command)
