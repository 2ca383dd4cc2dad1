"""``pull``: an image from a registry into the store.

Fetch the manifest (choosing the platform's entry when the tag names an
index), then the config, then the layers in parallel, all into a staging
store (``image.staging``). Each blob is verified against its digest as it
arrives, and each layer against the diff_id its config lists, in the same
pass (``layers.diff_id_tee``): snapshots are keyed by chain ids computed from
diff_ids, so a layer that lied about its content would plant it under
another image's key. Only when every blob passed are they published, the
image recorded and a ``pull`` revision added to its tag: a failed pull
leaves the store as it was. Everything happens under the store's write
lease, so a concurrent ``gc`` cannot collect the blobs before the revision
reaches them.
"""

from __future__ import annotations

import json

from dockpy.errors import IntegrityError, InvalidInputError, NotFoundError, RegistryError
from dockpy.image.oci import INDEX_TYPES, MANIFEST_TYPES, Descriptor, ImageConfig, Index, Manifest, Platform, decode
from dockpy.image.registry import blob_sources
from dockpy.image.registry.client import RegistryClient
from dockpy.image.registry.remote import RemoteImage, TransferProgress, in_parallel
from dockpy.image.staging import StagingStore
from dockpy.image.store import Image, ImageStore
from dockpy.layers.digests import DiffID, Digest

# A manifest or config larger than this is not one (the client already caps manifests lower).
MAX_DOCUMENT_BYTES = 8 << 20


def pull_image(store: ImageStore, client: RegistryClient, remote: RemoteImage, *,
               platform: Platform | None = None, progress: TransferProgress | None = None) -> Image:
    """Download ``remote`` into ``store``; tags it unless it was pulled by digest."""
    progress = progress or TransferProgress()
    with store.writing(), StagingStore(store.content, "pull") as staging:
        manifest_digest = _pull_manifest(staging, client, remote, platform or Platform.host())
        manifest = decode(Manifest, staging.read_bytes(manifest_digest, MAX_DOCUMENT_BYTES, "manifest"),
                          f"manifest {manifest_digest}")
        _fetch(staging, client, remote, progress, manifest.config)
        diff_ids = _diff_ids(staging, manifest)
        # The largest layer first: it takes longest, and the small ones fill the other transfers meanwhile.
        layers = sorted(zip(manifest.layers, diff_ids), key=lambda pair: pair[0].size, reverse=True)
        in_parallel(lambda pair: _fetch(staging, client, remote, progress, *pair), layers)
        staging.publish([manifest_digest, manifest.config.digest, *(layer.digest for layer in manifest.layers)])
        image = store.register_manifest(manifest_digest)
        blob_sources.remember(store.db, client.registry, remote.repository,
                              [manifest.config.digest, *(layer.digest for layer in manifest.layers)])
        if not remote.by_digest:
            store.add_revision(remote.local_name.name_tag, image, operation="pull",
                               message=f"pulled from {remote.registry}/{remote.repository}:{remote.reference}")
    return image


def _fetch(staging: StagingStore, client: RegistryClient, remote: RemoteImage, progress: TransferProgress,
           descriptor: Descriptor, diff_id: DiffID | None = None) -> None:
    """One blob into the staging store, unless the store has it already."""
    progress.started(descriptor.digest, descriptor.size)
    if staging.has(descriptor.digest):
        outcome = "exists"
    else:
        client.fetch_blob(remote.repository, descriptor.digest, descriptor.size, staging.content, diff_id=diff_id,
                          on_bytes=lambda count: progress.advanced(descriptor.digest, count))
        outcome = "downloaded"
    progress.finished(descriptor.digest, outcome)


def _diff_ids(staging: StagingStore, manifest: Manifest) -> tuple[DiffID, ...]:
    digest = manifest.config.digest
    config = decode(ImageConfig, staging.read_bytes(digest, MAX_DOCUMENT_BYTES, f"config {digest}"), f"config {digest}")
    if len(config.rootfs.diff_ids) != len(manifest.layers):
        raise IntegrityError(f"image config {digest.short} lists {len(config.rootfs.diff_ids)} diff ids "
                             f"for the manifest's {len(manifest.layers)} layers")
    return config.rootfs.diff_ids


def _pull_manifest(staging: StagingStore, client: RegistryClient, remote: RemoteImage, platform: Platform) -> Digest:
    fetched = client.fetch_manifest(remote.repository, remote.reference)
    media_type = fetched.media_type or json.loads(fetched.data).get("mediaType", "")
    if media_type in INDEX_TYPES:
        index = decode(Index, fetched.data, f"index {fetched.digest}")
        chosen = _choose_platform(index, platform, remote)
        fetched = client.fetch_manifest(remote.repository, chosen)
        media_type = fetched.media_type
    if media_type not in MANIFEST_TYPES:
        raise RegistryError(f"{remote.repository}:{remote.reference} is a {media_type or 'unknown'} document, not an image")
    staging.content.put_bytes(fetched.data, expected=fetched.digest)
    return fetched.digest


def _choose_platform(index: Index, platform: Platform, remote: RemoteImage) -> Digest:
    """The index entry for ``platform`` (os and architecture equal; variant too when both name one)."""
    offered = []
    for entry in index.manifests:
        candidate = entry.platform
        if candidate is None:
            continue
        offered.append(f"{candidate.os}/{candidate.architecture}" + (f"/{candidate.variant}" if candidate.variant else ""))
        if (candidate.os, candidate.architecture) == (platform.os, platform.architecture) and (
            not platform.variant or not candidate.variant or candidate.variant == platform.variant
        ):
            return entry.digest
    wanted = f"{platform.os}/{platform.architecture}" + (f"/{platform.variant}" if platform.variant else "")
    raise NotFoundError(
        f"{remote.repository}:{remote.reference} has no image for {wanted}",
        hint=f"It offers: {', '.join(offered) or 'no platforms'}; choose one with --platform.",
    )


def parse_platform(text: str) -> Platform:
    """``os/arch[/variant]`` as Docker's ``--platform`` takes it."""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidInputError(f"invalid platform {text!r}: want os/arch[/variant], e.g. linux/amd64")
    return Platform(os=parts[0], architecture=parts[1], variant=parts[2] if len(parts) == 3 else None)
