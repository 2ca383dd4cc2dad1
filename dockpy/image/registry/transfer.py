"""Moving whole images between a registry and the image store: ``pull`` and ``push``.

Pull: fetch the manifest (choosing the platform's entry when the tag names an
index), then the config and layers in parallel straight into the content
store (each verified before it becomes visible), store the manifest's exact
bytes, and only then record the image and a ``pull`` revision of its tag.
Everything happens under the store's write lease, so a concurrent ``gc``
cannot collect blobs between their download and the revision that reaches
them. A failure at any point leaves no tag pointing anywhere new.

Push: upload config and layers in parallel (skipping blobs the registry
already has), then the manifest under the tag. The registry is the shared
content store of a CI fleet, so pushing again what is there costs one HEAD
request per blob.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from dockpy.errors import InvalidInputError, NotFoundError, RegistryError
from dockpy.image.oci import INDEX_TYPES, MANIFEST_TYPES, Index, Manifest, Platform, decode
from dockpy.image.reference import DEFAULT_DOMAIN, ImageReference, parse_name_reference
from dockpy.image.registry.client import RegistryClient
from dockpy.image.store import Image, ImageStore
from dockpy.layers.digests import Digest

# Parallel blob transfers; more gains little on one link and costs memory on small CI machines.
PARALLEL_TRANSFERS = 4
# Docker Hub's API host; other registries are addressed by their own name.
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"


class TransferProgress(Protocol):
    """What a transfer reports; the CLI renders it as bars or as plain lines."""

    def started(self, digest: Digest, size: int) -> None: ...

    def advanced(self, digest: Digest, count: int) -> None: ...

    def finished(self, digest: Digest, outcome: str) -> None: ...


class SilentProgress:
    def started(self, digest: Digest, size: int) -> None:
        pass

    def advanced(self, digest: Digest, count: int) -> None:
        pass

    def finished(self, digest: Digest, outcome: str) -> None:
        pass


@dataclass(frozen=True)
class RemoteImage:
    """Where an image lives: ``registry`` (host[:port]), ``repository`` in it, and tag or digest."""

    registry: str
    repository: str
    reference: str  # a tag or a sha256 digest
    local_name: ImageReference

    @classmethod
    def parse(cls, text: str) -> "RemoteImage":
        parsed = parse_name_reference(text)
        if parsed.revision is not None:
            raise InvalidInputError(f"{text}: a registry has no revisions; push or pull a tag or a digest")
        domain, _, repository = parsed.repository.partition("/")
        registry = DOCKER_HUB_ENDPOINT if domain == DEFAULT_DOMAIN else domain
        return cls(registry, repository, str(parsed.digest or parsed.tag_or_default), parsed)

    @property
    def by_digest(self) -> bool:
        return self.reference.startswith("sha256:")


def pull_image(store: ImageStore, client: RegistryClient, remote: RemoteImage, *,
               platform: Platform | None = None, progress: TransferProgress | None = None) -> Image:
    """Download ``remote`` into ``store``; tags it unless it was pulled by digest."""
    progress = progress or SilentProgress()
    with store.writing():
        manifest_digest = _pull_manifest(store, client, remote, platform or Platform.host())
        manifest = decode(Manifest, store.content.read_bytes(manifest_digest), f"manifest {manifest_digest}")
        blobs = [manifest.config, *manifest.layers]

        def fetch(descriptor) -> None:
            progress.started(descriptor.digest, descriptor.size)
            outcome = "exists" if store.content.has(descriptor.digest) else "downloaded"
            client.fetch_blob(remote.repository, descriptor.digest, descriptor.size, store.content,
                              on_bytes=lambda count: progress.advanced(descriptor.digest, count))
            progress.finished(descriptor.digest, outcome)

        _in_parallel(fetch, blobs)
        image = store.register_manifest(manifest_digest)
        if not remote.by_digest:
            store.add_revision(remote.local_name.name_tag, image, operation="pull",
                               message=f"pulled from {remote.registry}/{remote.repository}:{remote.reference}")
    return image


def push_image(store: ImageStore, client: RegistryClient, source: str, remote: RemoteImage, *,
               progress: TransferProgress | None = None) -> Digest:
    """Upload the local image ``source`` as ``remote``; returns the manifest digest."""
    progress = progress or SilentProgress()
    image = store.resolve(source)
    blobs = [image.manifest.config, *image.layers]

    def upload(descriptor) -> None:
        progress.started(descriptor.digest, descriptor.size)
        outcome = client.push_blob(
            remote.repository, descriptor.digest, descriptor.size, lambda: store.content.open_unverified(descriptor.digest),
            on_bytes=lambda count: progress.advanced(descriptor.digest, count),
        )
        progress.finished(descriptor.digest, outcome)

    _in_parallel(upload, blobs)
    data = store.content.read_bytes(image.manifest_digest)
    media_type = json.loads(data).get("mediaType") or "application/vnd.oci.image.manifest.v1+json"
    return client.push_manifest(remote.repository, remote.reference, data, media_type)


def _pull_manifest(store: ImageStore, client: RegistryClient, remote: RemoteImage, platform: Platform) -> Digest:
    fetched = client.fetch_manifest(remote.repository, remote.reference)
    media_type = fetched.media_type or json.loads(fetched.data).get("mediaType", "")
    if media_type in INDEX_TYPES:
        index = decode(Index, fetched.data, f"index {fetched.digest}")
        chosen = _choose_platform(index, platform, remote)
        fetched = client.fetch_manifest(remote.repository, chosen)
        media_type = fetched.media_type
    if media_type not in MANIFEST_TYPES:
        raise RegistryError(f"{remote.repository}:{remote.reference} is a {media_type or 'unknown'} document, not an image")
    store.content.put_bytes(fetched.data, expected=fetched.digest)
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


def _in_parallel(work: Callable, items: list) -> None:
    """Run ``work`` on every item with a few threads; the first failure is raised after all finish."""
    with ThreadPoolExecutor(max_workers=min(PARALLEL_TRANSFERS, len(items) or 1)) as pool:
        futures = [pool.submit(work, item) for item in items]
    for future in futures:
        future.result()
