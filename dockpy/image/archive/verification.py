"""The checks a loaded image passes before any of its blobs is published.

Each blob was already verified against its digest as it was staged. What is
left is what digests cannot tell: the config must parse and list one diff_id
per layer, and each layer must *decompress* to the tar its diff_id names.
That last check matters because snapshots are keyed by chain id, computed
from diff_ids: a layer that lied about its diff_id would plant its content
under another image's key. Most layers had their diff_id computed while they
were staged (``layers.diff_id_tee``; docker layer tars as they were converted); any
other is decompressed and hashed here, several at once (zlib, zstd and
sha256 release the GIL), which also reports a corrupt stream properly.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from dockpy.errors import IntegrityError
from dockpy.image.archive.archived import ArchivedImage
from dockpy.image.archive.contents import MAX_DOCUMENT_SIZE, ArchiveContents
from dockpy.image.staging import StagingStore
from dockpy.image.oci import ImageConfig, decode
from dockpy.layers.compression import open_tar_stream
from dockpy.layers.digests import DiffID, Digest

COPY_CHUNK = 1 << 20


def verify_images(contents: ArchiveContents, images: Sequence[ArchivedImage]) -> set[Digest]:
    """Check every image; returns the digests of all blobs they need (manifests, configs, layers)."""
    needed: set[Digest] = set()
    unverified: dict[Digest, tuple[DiffID, str]] = {}
    known = contents.diff_ids
    for image in images:
        config = _image_config(contents.staging, image)
        for number, (layer, diff_id) in enumerate(zip(image.manifest.layers, config.rootfs.diff_ids), start=1):
            what = f"image {image.config_digest.short} layer {number} ({layer.digest})"
            if layer.digest in known:
                _compare(known[layer.digest], diff_id, what)
            else:
                unverified.setdefault(layer.digest, (diff_id, what))
        needed.update((image.manifest_digest, image.config_digest, *(layer.digest for layer in image.manifest.layers)))
    _verify_diff_ids(contents.staging, unverified)
    return needed


def _image_config(staging: StagingStore, image: ArchivedImage) -> ImageConfig:
    digest = image.config_digest
    config = decode(ImageConfig, staging.read_bytes(digest, MAX_DOCUMENT_SIZE, f"config {digest}"), f"config {digest}")
    if len(config.rootfs.diff_ids) != len(image.manifest.layers):
        raise IntegrityError(f"image {digest.short}: its manifest has {len(image.manifest.layers)} layers, "
                             f"its config {len(config.rootfs.diff_ids)} diff ids")
    return config


def _verify_diff_ids(staging: StagingStore, layers: dict[Digest, tuple[DiffID, str]]) -> None:
    if not layers:
        return
    with ThreadPoolExecutor(max_workers=min(len(layers), os.cpu_count() or 1)) as pool:
        results = pool.map(lambda digest: _diff_id_of(staging, digest), layers)
        for (diff_id, what), actual in zip(layers.values(), results):
            _compare(actual, diff_id, what)


def _diff_id_of(staging: StagingStore, digest: Digest) -> DiffID:
    """The digest of the layer's uncompressed tar (gzip or zstd told by its first bytes, as unpack does)."""
    hasher = hashlib.sha256()
    with open_tar_stream(staging.open(digest)) as tar:
        while chunk := tar.read(COPY_CHUNK):
            hasher.update(chunk)
    return DiffID.from_hex(hasher.hexdigest())


def _compare(actual: DiffID, expected: DiffID, what: str) -> None:
    if actual != expected:
        raise IntegrityError(f"{what} decompresses to diff id {actual}, but the config says {expected}")

