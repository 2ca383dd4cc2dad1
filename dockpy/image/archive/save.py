"""``dockpy save``: images from the store into an OCI layout or a docker archive.

Each reference names an image and, when it is ``NAME[:TAG]`` (or a revision of
one), the name the archive gives it; an image named by id or digest is
written without a name, as ``docker save`` does. An image named several
times is written once with all its names, and a blob several images share is
written once.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from dockpy.errors import InvalidInputError, NotFoundError
from dockpy.image.archive.archived import ArchivedImage
from dockpy.image.archive.docker_archive import write_docker_archive
from dockpy.image.archive.layer_conversion import LayerConverter
from dockpy.image.archive.oci_layout import write_oci_layout
from dockpy.image.staging import StagingStore
from dockpy.image.reference import ImageReference, parse_reference
from dockpy.image.store import Image, ImageStore
from dockpy.layers.compression import Compression


class ArchiveFormat(enum.Enum):
    OCI = "oci"  # OCI image layout: layers as stored, or in --compression
    DOCKER = "docker"  # docker save's layout: uncompressed layer tars, for docker load


def save_images(store: ImageStore, references: Sequence[str], writer, *, archive_format: ArchiveFormat,
                compression: Compression | None = None) -> list[ArchivedImage]:
    """Write the images ``references`` name to ``writer`` (``writers``); returns them as written."""
    if archive_format is ArchiveFormat.DOCKER and compression not in (None, Compression.NONE):
        raise InvalidInputError("a docker archive holds uncompressed layers (what docker load reads)",
                                hint="use --format oci to choose a layer compression")
    if archive_format is ArchiveFormat.DOCKER:
        compression = Compression.NONE
    with store.writing(), StagingStore(store.content, "save") as scratch:
        converter = LayerConverter(scratch, compression)
        images = [converter.convert(image, names) for image, names in _selected_images(store, references)]
        write = write_oci_layout if archive_format is ArchiveFormat.OCI else write_docker_archive
        write(writer, images, scratch)
        writer.finish()
    return images


def _selected_images(store: ImageStore, references: Sequence[str]) -> list[tuple[Image, tuple[str, ...]]]:
    """Each distinct image the references name, with the names they give it, in order."""
    selected: dict[str, tuple[Image, tuple[str, ...]]] = {}
    for reference in references:
        manifest_digest = store.find(reference)
        image, names = selected.get(manifest_digest) or (store.read_image(manifest_digest), ())
        name = _saved_name(store, reference)
        if name and name not in names:
            names += (name,)
        selected[manifest_digest] = (image, names)
    return list(selected.values())


def _saved_name(store: ImageStore, reference: str) -> str | None:
    """``repository:tag`` when the reference names a tag (or a revision of one), else None."""
    parsed = parse_reference(reference)
    if not isinstance(parsed, ImageReference) or parsed.digest is not None:
        return None
    name = f"{parsed.repository}:{parsed.tag_or_default}"
    if parsed.id_prefix is not None and not _is_tag(store, name):
        return None  # "abcd1234" named an image id, not a repository
    return name


def _is_tag(store: ImageStore, name: str) -> bool:
    try:
        store.log(name)
    except NotFoundError:
        return False
    return True
