"""``push``: an image from the store to a registry.

First one HEAD request of the manifest under the tag: if the registry holds
this very manifest there, the push is done. Otherwise the config and layers
go up in parallel: a blob the registry has is skipped (one HEAD request),
one it holds in another repository is mounted from there (``blob_sources``),
any other is uploaded straight from its file in the store. Then the manifest
goes up under the tag, its bytes exactly as stored, so the digest the
registry reports equals the local one.

The registry is the shared content store of a CI fleet, so pushing again
what is there must cost little more than that one request. This module
therefore stays off the image model (``oci``, ``dataclasses``), reads the
manifest's JSON itself, and imports what only an upload needs (``json``,
the content store) once the registry turns out to lack the manifest. Only
``--compression`` needs the model: layers in another compression are
converted first (``archive.layer_conversion``, as ``save --compression``
does) into a scratch store, and a new manifest naming them is pushed; the
image in the store is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from dockpy.errors import IntegrityError
from dockpy.image.refs import Refs
from dockpy.image.registry import blob_sources
from dockpy.image.registry.client import RegistryClient
from dockpy.image.registry.remote import RemoteImage, TransferProgress, in_parallel
from dockpy.layers.digests import Digest

# oci.OCI_MANIFEST, spelled out: importing the image model would cost a push more than its requests.
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def push_image(store: Refs, client: RegistryClient, source: str, remote: RemoteImage, *,
               compression=None, progress: TransferProgress | None = None) -> Digest:
    """Upload the local image ``source`` as ``remote``; returns the manifest digest pushed.

    ``compression`` (a ``layers.compression.Compression``) converts layers
    stored otherwise; the digest returned is then that of the new manifest.
    """
    progress = progress or TransferProgress()
    if compression is not None:
        return _push_converted(store, client, source, remote, compression, progress)
    manifest_digest = store.find(source)
    if _registry_holds(client, remote, manifest_digest):
        return manifest_digest
    # Imported here, on this thread, not on the transfer threads that open the blobs with it.
    from dockpy.layers.content import ContentStore

    return _push(store, ContentStore(store.root).open_unverified, client, manifest_digest, remote, progress)


def _push_converted(store: Refs, client: RegistryClient, source: str, remote: RemoteImage, compression,
                    progress: TransferProgress) -> Digest:
    """Layers converted into a scratch store first, then pushed with a manifest naming them."""
    from dockpy.image.archive.layer_conversion import LayerConverter
    from dockpy.image.staging import StagingStore
    from dockpy.image.store import ImageStore

    with ImageStore(store.root) as images, images.writing(), StagingStore(images.content, "push") as scratch:
        converted = LayerConverter(scratch, compression).convert(images.resolve(source), ())
        if _registry_holds(client, remote, converted.manifest_digest):
            return converted.manifest_digest
        return _push(store, scratch.open_unverified, client, converted.manifest_digest, remote, progress)


def _registry_holds(client: RegistryClient, remote: RemoteImage, manifest_digest: Digest) -> bool:
    """Whether the registry has this manifest under the tag already, so the push would change nothing.

    One HEAD request shows it: a registry refuses a manifest whose blobs
    are not in the repository (MANIFEST_BLOB_UNKNOWN), so the one it holds
    under the tag had them all (go-containerregistry skips a manifest it
    finds so, ``checkExistingManifest``). Asked with push scope, so a
    Bearer token fetched for it serves the uploads that may follow.
    """
    return client.manifest_digest(remote.repository, remote.reference, push=True) == manifest_digest


def _push(store: Refs, open_blob: Callable, client: RegistryClient, manifest_digest: Digest, remote: RemoteImage,
          progress: TransferProgress) -> Digest:
    """Blobs, largest first, then the manifest; ``open_blob(digest)`` opens a blob's file.

    The largest blob is the one the registry takes longest to hash and
    write, so it starts first and the small ones fill the other transfers.
    """
    data, media_type, blobs = _read_manifest(open_blob, manifest_digest)
    known = blob_sources.known_repositories(store.db, client.registry, (digest for digest, _ in blobs))

    def upload(blob: tuple[Digest, int]) -> None:
        digest, size = blob
        mount_from = next((repository for repository in known[digest] if repository != remote.repository), None)
        progress.started(digest, size)
        outcome = client.push_blob(remote.repository, digest, size, lambda: open_blob(digest),
                                   mount_from=mount_from, on_bytes=lambda count: progress.advanced(digest, count))
        progress.finished(digest, outcome)

    # Only news is written: pushing again what the registry has costs no write transaction.
    unrecorded = [digest for digest, _ in blobs if remote.repository not in known[digest]]
    in_parallel(upload, sorted(blobs, key=lambda blob: blob[1], reverse=True),
                meanwhile=lambda: _remember_sources(store, client.registry, remote.repository, unrecorded))
    return client.push_manifest(remote.repository, remote.reference, data, media_type)


def _remember_sources(store: Refs, registry: str, repository: str, digests: list[Digest]) -> None:
    """Record that ``repository`` holds ``digests`` (a later push elsewhere mounts them from there).

    Done while the blobs move, not after the manifest, where it would
    lengthen every push by a write and by the checkpoint that closing the
    database at exit then makes (its fsyncs): the checkpoint is made here
    too, passive, so it never waits for another process's readers. A push
    that fails leaves records that are stale at worst, and a stale source
    costs a later push nothing: the mount request that fails opens the
    upload session anyway.
    """
    if not digests:
        return
    blob_sources.remember(store.db, registry, repository, digests)
    store.db.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _read_manifest(open_blob: Callable, digest: Digest) -> tuple[bytes, str, list[tuple[Digest, int]]]:
    """The manifest's bytes (checked against ``digest``), media type, and the (digest, size) of config and layers."""
    import json

    with open_blob(digest) as file:
        data = file.read()
    if Digest.of_bytes(data) != digest:
        raise IntegrityError(f"stored manifest {digest} is corrupt", hint="run 'dockpy fsck'")
    manifest = json.loads(data)
    blobs = [(Digest(entry["digest"]), int(entry["size"])) for entry in (manifest["config"], *manifest["layers"])]
    return data, manifest.get("mediaType") or OCI_MANIFEST, blobs
