"""``dockpy load``: the images of an archive into the store, all or nothing.

1. Read the archive once (``contents``): names checked, every blob verified
   against its digest as it is staged, docker layer tars checked and stored as zstd.
2. Tell the format: ``index.json`` makes an OCI layout (Docker 25's archives
   have one too), else ``manifest.json`` a docker archive.
3. Check every image (``verification``): complete, configs that parse, diff_ids true.
4. Check the names it will tag.
5. Publish the blobs the images need into the store (renames; the rest of the
   staging directory is dropped), then record each image and tag it, as
   revisions with operation ``load``.

Until step 5 nothing is visible; an error anywhere before leaves the store as
it was. Steps 5's transactions cannot fail on the archive's content (it was
all checked), only on the store itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from dockpy.errors import InvalidInputError, InvalidReferenceError, UnsafeArchiveError
from dockpy.image.archive.archived import ArchivedImage
from dockpy.image.archive.contents import ArchiveContents, read_archive
from dockpy.image.archive.docker_archive import MANIFEST_FILE, is_docker_archive, read_docker_archive
from dockpy.image.archive.members import directory_members, tar_members
from dockpy.image.archive.oci_layout import INDEX_FILE, is_oci_layout, read_oci_layout
from dockpy.image.staging import StagingStore
from dockpy.image.archive.verification import verify_images
from dockpy.image.reference import parse_tag_reference
from dockpy.image.store import Image, ImageStore

_NEITHER_FORMAT = "it has neither index.json (OCI layout) nor manifest.json (docker archive)"


@dataclass(frozen=True)
class LoadedImage:
    """An image a load recorded, and the tags (``NAME:TAG``) it now heads."""

    image: Image
    tags: tuple[str, ...]


def load_archive(store: ImageStore, source: Path | BinaryIO, *, source_name: str | None = None) -> list[LoadedImage]:
    """Load every image of ``source``: a tar file or stream (plain, gzip or zstd), or an OCI layout directory."""
    source_name = source_name or str(source)
    with store.writing(), StagingStore(store.content, "load") as staging, _members(source) as members:
        contents = read_archive(members, staging)
        images = _merged_by_manifest(_archived_images(contents))
        needed = verify_images(contents, images)
        tags = {image.manifest_digest: _tags_of(image) for image in images}
        staging.publish(needed)
        return [_record(store, image, tags[image.manifest_digest], source_name) for image in images]


@contextlib.contextmanager
def _members(source: Path | BinaryIO) -> Iterator:
    if not isinstance(source, Path):
        yield tar_members(source)
    elif source.is_dir():
        if not any((source / name).is_file() for name in (INDEX_FILE, MANIFEST_FILE)):
            raise UnsafeArchiveError(f"not an image archive: {_NEITHER_FORMAT}")  # before reading it all
        yield directory_members(source)
    else:
        try:
            stream = open(source, "rb")
        except OSError as error:
            raise InvalidInputError(f"open {source}: {error.strerror}") from error
        with stream:
            yield tar_members(stream)


def _archived_images(contents: ArchiveContents) -> list[ArchivedImage]:
    if is_oci_layout(contents):
        images = read_oci_layout(contents)
    elif is_docker_archive(contents):
        images = read_docker_archive(contents)
    else:
        raise UnsafeArchiveError(f"not an image archive: {_NEITHER_FORMAT}")
    if not images:
        raise UnsafeArchiveError("the archive holds no image")
    return images


def _merged_by_manifest(images: Sequence[ArchivedImage]) -> list[ArchivedImage]:
    """One entry per manifest, with all the names the archive gives it, in order."""
    merged: dict[str, ArchivedImage] = {}
    for image in images:
        seen = merged.get(image.manifest_digest)
        merged[image.manifest_digest] = replace(seen, names=seen.names + image.names) if seen else image
    return list(merged.values())


def _tags_of(image: ArchivedImage) -> tuple[str, ...]:
    """The ``NAME:TAG`` tags for an image's names; a ``NAME@sha256:...`` name tags nothing."""
    tags = []
    for name in image.names:
        if "@" in name:
            continue
        try:
            tags.append(parse_tag_reference(name).name_tag)
        except InvalidReferenceError as error:
            raise InvalidReferenceError(f"the archive names image {image.config_digest.short} {name!r}: {error}") from None
    return tuple(dict.fromkeys(tags))


def _record(store: ImageStore, archived: ArchivedImage, tags: tuple[str, ...], source_name: str) -> LoadedImage:
    image = store.register_manifest(archived.manifest_digest)
    for tag in tags:
        store.add_revision(tag, image, operation="load", message=f"load {source_name}")
    return LoadedImage(image, tags)
