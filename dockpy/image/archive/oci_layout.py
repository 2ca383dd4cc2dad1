"""The OCI image layout (image-spec ``image-layout.md``), read from and written to an archive.

::

    oci-layout              {"imageLayoutVersion": "1.0.0"}
    index.json              an image index: one descriptor per image and name
    blobs/sha256/<hex>      manifests, configs and layers, each stored once

Names: each index entry carries ``org.opencontainers.image.ref.name`` (the
tag, which ``skopeo``/``umoci`` select by) and ``io.containerd.image.name``
(the full name, which containerd and Docker 25 write and read). On load the
full name is taken from ``io.containerd.image.name``, else from a ``ref.name``
that is a whole reference (``localhost/app:1``, as podman writes); a bare
tag names no repository, so that image is loaded untagged. An entry that is
itself an index (a multi-platform image) yields its manifest for the host's
platform.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from dockpy.errors import IntegrityError, InvalidInputError, UnsafeArchiveError
from dockpy.image.archive.archived import ArchivedImage
from dockpy.image.archive.contents import MAX_DOCUMENT_SIZE, ArchiveContents, blob_path
from dockpy.image.staging import StagingStore
from dockpy.image.jsonmodel import canonical_json
from dockpy.image.oci import INDEX_TYPES, MANIFEST_TYPES, OCI_MANIFEST, Descriptor, Index, Manifest, Platform, decode, encode
from dockpy.image.reference import parse_tag_reference
from dockpy.layers.content import BlobInfo
from dockpy.layers.digests import Digest

LAYOUT_FILE = "oci-layout"
INDEX_FILE = "index.json"
LAYOUT_VERSION = "1.0.0"
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
# An index inside an index inside an index: deeper nesting is no image anyone writes.
MAX_INDEX_DEPTH = 3


def is_oci_layout(contents: ArchiveContents) -> bool:
    return contents.has(INDEX_FILE)


def read_oci_layout(contents: ArchiveContents) -> list[ArchivedImage]:
    """The images ``index.json`` lists, each checked to be complete in the archive."""
    _check_layout_version(contents)
    index = decode(Index, contents.document(INDEX_FILE, "the image index"), INDEX_FILE)
    images = []
    for position, descriptor in enumerate(index.manifests):
        digest, manifest = _image_manifest(contents, descriptor, f"{INDEX_FILE} manifests[{position}]", 0)
        images.append(ArchivedImage(digest, manifest, _names(descriptor.annotations)))
    return images


def write_oci_layout(writer, images: Sequence[ArchivedImage], blobs: StagingStore) -> None:
    """Write ``images`` as an OCI layout; a blob shared by several images is written once."""
    writer.add_bytes(LAYOUT_FILE, canonical_json({"imageLayoutVersion": LAYOUT_VERSION}))
    written: set[Digest] = set()
    for image in images:
        for digest in (*(layer.digest for layer in image.manifest.layers), image.config_digest, image.manifest_digest):
            if digest not in written:
                with blobs.open(digest) as data:
                    writer.add_stream(blob_path(digest), data, blobs.info(digest).size)
                written.add(digest)
    entries = [entry for image in images for entry in _index_entries(image, blobs.info(image.manifest_digest).size)]
    writer.add_bytes(INDEX_FILE, encode(Index(tuple(entries))))


def _check_layout_version(contents: ArchiveContents) -> None:
    """``oci-layout`` is optional here (some writers forget it), but if present it must be 1.0.0."""
    if not contents.has(LAYOUT_FILE):
        return
    try:
        version = json.loads(contents.document(LAYOUT_FILE, "the layout version")).get("imageLayoutVersion")
    except (ValueError, AttributeError):
        raise InvalidInputError(f"{LAYOUT_FILE}: not a JSON object") from None
    if version != LAYOUT_VERSION:
        raise InvalidInputError(f"{LAYOUT_FILE}: unsupported imageLayoutVersion {version!r} (want {LAYOUT_VERSION!r})")


def _image_manifest(contents: ArchiveContents, descriptor: Descriptor, where: str, depth: int) -> tuple[Digest, Manifest]:
    """The image manifest a descriptor leads to, with every blob it names present and of the right size."""
    _check_blob(contents, descriptor, f"{where}: the manifest")
    data = contents.staging.read_bytes(descriptor.digest, MAX_DOCUMENT_SIZE, f"manifest {descriptor.digest}")
    if descriptor.media_type in INDEX_TYPES:
        if depth >= MAX_INDEX_DEPTH:
            raise UnsafeArchiveError(f"{where}: image indexes nested more than {MAX_INDEX_DEPTH} deep")
        nested = decode(Index, data, f"index {descriptor.digest}")
        return _image_manifest(contents, _host_manifest(nested, where), f"{where} (index {descriptor.digest.short})", depth + 1)
    if descriptor.media_type not in MANIFEST_TYPES:
        raise InvalidInputError(f"{where}: {descriptor.media_type!r} is not an image manifest")
    manifest = decode(Manifest, data, f"manifest {descriptor.digest}")
    _check_blob(contents, manifest.config, f"manifest {descriptor.digest.short}: the config")
    for number, layer in enumerate(manifest.layers, start=1):
        _check_blob(contents, layer, f"manifest {descriptor.digest.short}: layer {number}")
    return descriptor.digest, manifest


def _check_blob(contents: ArchiveContents, descriptor: Descriptor, what: str) -> BlobInfo:
    info = contents.blob(descriptor.digest, what)
    if info.size != descriptor.size:
        raise IntegrityError(f"{what} {descriptor.digest} is {info.size} bytes, but its descriptor says {descriptor.size}")
    return info


def _host_manifest(index: Index, where: str) -> Descriptor:
    host = Platform.host()
    for descriptor in index.manifests:
        platform = descriptor.platform
        if platform and (platform.os, platform.architecture) == (host.os, host.architecture) \
                and host.variant in (None, platform.variant):
            return descriptor
    offered = ", ".join(f"{d.platform.os}/{d.platform.architecture}" for d in index.manifests if d.platform) or "none"
    raise InvalidInputError(f"{where}: no image for {host.os}/{host.architecture} in the index (it has: {offered})")


def _names(annotations: dict[str, str] | None) -> tuple[str, ...]:
    annotations = annotations or {}
    if annotations.get(CONTAINERD_NAME):
        return (annotations[CONTAINERD_NAME],)
    ref_name = annotations.get(REF_NAME, "")
    if "/" in ref_name or ":" in ref_name:  # a whole reference, not a bare tag
        return (ref_name,)
    return ()


def _index_entries(image: ArchivedImage, manifest_size: int) -> list[Descriptor]:
    descriptor = Descriptor(image.manifest.media_type or OCI_MANIFEST, image.manifest_digest, manifest_size)
    if not image.names:
        return [descriptor]
    return [descriptor.replace(annotations={CONTAINERD_NAME: name, REF_NAME: parse_tag_reference(name).tag})
            for name in image.names]
