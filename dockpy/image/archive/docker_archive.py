"""The docker archive: what ``docker save`` writes and ``docker load`` reads.

::

    manifest.json           [{"Config": "<hex>.json", "RepoTags": ["app:1"], "Layers": ["<id>/layer.tar", ...]}]
    repositories            {"app": {"1": "<id of the top layer>"}}   (for old loaders)
    <hex>.json              the image config, named by its digest (the image id)
    <id>/layer.tar          each layer as an uncompressed tar

dockpy writes this layout as Docker 20.10 does, with each layer under its
diff_id (so a layer shared by several images is written once). Docker 25
writes ``blobs/sha256/<hex>`` paths instead and podman ``<hex>.tar`` plus
legacy symlinks; ``manifest.json`` names the files, so all read the same way.

A docker archive has no manifest: on load, each layer tar is checked and
stored as zstd (``contents``), its diff_id must be the one the config lists,
and dockpy writes an OCI manifest for the config (kept byte for byte, so the
image id does not change) and those layers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from dockpy.errors import IntegrityError, InvalidInputError
from dockpy.image.archive.archived import ArchivedImage
from dockpy.image.archive.contents import ArchiveContents
from dockpy.image.staging import StagingStore
from dockpy.image.jsonmodel import REQUIRED, JsonModel, canonical_json, oci_field
from dockpy.image.oci import OCI_CONFIG, Descriptor, ImageConfig, Manifest, decode, encode
from dockpy.image.reference import parse_tag_reference
from dockpy.layers.digests import DiffID, Digest

MANIFEST_FILE = "manifest.json"
REPOSITORIES_FILE = "repositories"
# A member named by a digest (``<hex>.json``, ``blobs/sha256/<hex>``) must have that digest.
_NAMED_BY_DIGEST = re.compile(r"(?:.*/)?(?:blobs/sha256/([0-9a-f]{64})|([0-9a-f]{64})\.json)")


class DockerManifestEntry(JsonModel):
    """One image of ``manifest.json``: archive paths of its config and layers, and its tags."""

    config: str = oci_field("Config", REQUIRED)
    repo_tags: tuple[str, ...] | None = oci_field("RepoTags")
    layers: tuple[str, ...] = oci_field("Layers", (), always=True)


def is_docker_archive(contents: ArchiveContents) -> bool:
    return contents.has(MANIFEST_FILE)


def read_docker_archive(contents: ArchiveContents) -> list[ArchivedImage]:
    """The images ``manifest.json`` lists, with their layers stored as zstd and a manifest made for each."""
    entries = _manifest_entries(contents.document(MANIFEST_FILE, "the docker manifest"))
    return [_archived_image(contents, entry, f"{MANIFEST_FILE}[{position}]") for position, entry in enumerate(entries)]


def write_docker_archive(writer, images: Sequence[ArchivedImage], blobs: StagingStore) -> None:
    """Write ``images``, whose layers must be uncompressed tars (``save`` converts them)."""
    entries, repositories, written = [], {}, set()
    for image in images:
        config_path = f"{image.config_digest.hex}.json"
        layer_digests = [layer.digest for layer in image.manifest.layers]
        layer_paths = [f"{digest.hex}/layer.tar" for digest in layer_digests]
        for digest, path in ((image.config_digest, config_path), *zip(layer_digests, layer_paths)):
            if path not in written:
                with blobs.open(digest) as data:
                    writer.add_stream(path, data, blobs.info(digest).size)
                written.add(path)
        tags = [parse_tag_reference(name) for name in image.names]
        entries.append(DockerManifestEntry(config_path, tuple(tag.name_tag for tag in tags), tuple(layer_paths)).to_json())
        for tag in tags:
            if layer_paths:
                repositories.setdefault(tag.familiar_name, {})[tag.tag] = layer_paths[-1].split("/")[0]
    if repositories:
        writer.add_bytes(REPOSITORIES_FILE, canonical_json(repositories))
    writer.add_bytes(MANIFEST_FILE, canonical_json(entries))


def _manifest_entries(data: bytes) -> list[DockerManifestEntry]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise InvalidInputError(f"{MANIFEST_FILE}: not valid JSON: {error}") from None
    if not isinstance(value, list):
        raise InvalidInputError(f"{MANIFEST_FILE}: expected a list of images")
    return [DockerManifestEntry.from_json(item, where=f"{MANIFEST_FILE}[{n}]") for n, item in enumerate(value)]


def _archived_image(contents: ArchiveContents, entry: DockerManifestEntry, where: str) -> ArchivedImage:
    config_bytes = contents.document(entry.config, f"{where} config")
    _check_named_digest(entry.config, Digest.of_bytes(config_bytes), where)
    config = decode(ImageConfig, config_bytes, f"{where} config {entry.config}")
    diff_ids = config.rootfs.diff_ids
    if len(entry.layers) != len(diff_ids):
        raise IntegrityError(f"{where}: {len(entry.layers)} layers, but its config lists {len(diff_ids)} diff ids")
    layers = tuple(_stored_layer(contents, path, diff_id, f"{where} layer {number}")
                   for number, (path, diff_id) in enumerate(zip(entry.layers, diff_ids), start=1))
    staged = contents.staging.content
    config_blob = staged.put_bytes(config_bytes)
    manifest = Manifest(Descriptor(OCI_CONFIG, config_blob.digest, config_blob.size), layers)
    manifest_blob = staged.put_bytes(encode(manifest))
    return ArchivedImage(manifest_blob.digest, manifest, entry.repo_tags or ())


def _stored_layer(contents: ArchiveContents, path: str, diff_id: DiffID, what: str) -> Descriptor:
    layer = contents.layer_tar(path, what)
    if layer.diff_id != diff_id:
        raise IntegrityError(f"{what} ({path}) has diff id {layer.diff_id}, but the config says {diff_id}")
    return Descriptor(layer.media_type, layer.digest, layer.size)


def _check_named_digest(path: str, digest: Digest, where: str) -> None:
    match = _NAMED_BY_DIGEST.fullmatch(path)
    if match and Digest.from_hex(match.group(1) or match.group(2)) != digest:
        raise IntegrityError(f"{where} config {path} is named for another digest: its content is {digest}")

