"""``--cache-to REF`` and ``--cache-from REF``: the build cache as an ordinary image.

A cache key is content-addressed (chain ids, instruction, source digests),
so a layer cached in one storage root answers the same step in another.
``--cache-to`` stores the keys of every step of a build, with the layers
they made, as an image: its layers are those layers, and the label
``org.dockpy.build-cache.v1`` maps each key to the index of its layer (or
to nothing, for a step that made no layer). Being an image, it travels with
``push``/``pull`` and ``save``/``load``. ``--cache-from`` reads that label and
adds the entries to this root's cache index; a step whose key matches then
reuses the layer instead of running. A ``--cache-from`` image that does not
exist is a warning, as in Docker.

``registry://HOST/REPO:TAG`` names a cache that lives in a registry, the
shared cache of a CI fleet: ``--cache-to`` stores the cache image locally
under ``HOST/REPO:TAG`` and pushes it (only the blobs the registry lacks go
up); ``--cache-from`` pulls it first (only the blobs this root lacks come
down). Loopback registries may speak plain http (see ``registry.client``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from dockpy.build.cache import BuildCache, CachedLayer
from dockpy.errors import InvalidInputError
from dockpy.image.oci import ContainerConfig, Descriptor, HistoryEntry, ImageConfig, Platform, RootFS
from dockpy.image.store import Image, ImageStore

CACHE_LABEL = "org.dockpy.build-cache.v1"
REGISTRY_SCHEME = "registry://"


def local_name(reference: str) -> str:
    """The image name a cache reference is kept under in the store (``registry://`` dropped)."""
    return reference.removeprefix(REGISTRY_SCHEME)


def pull_remote_cache(store: ImageStore, reference: str) -> None:
    """For a ``registry://`` reference, bring the cache image into the store; others are local already."""
    if not reference.startswith(REGISTRY_SCHEME):
        return
    from dockpy.image.registry.client import RegistryClient
    from dockpy.image.registry.pull import pull_image
    from dockpy.image.registry.remote import RemoteImage

    remote = RemoteImage.parse(local_name(reference))
    with RegistryClient(remote.registry, tls_verify=True) as client:
        pull_image(store, client, remote)


def push_remote_cache(store: ImageStore, reference: str) -> None:
    """For a ``registry://`` reference, push the cache image stored under its local name."""
    if not reference.startswith(REGISTRY_SCHEME):
        return
    from dockpy.image.registry.client import RegistryClient
    from dockpy.image.registry.push import push_image
    from dockpy.image.registry.remote import RemoteImage

    name = local_name(reference)
    remote = RemoteImage.parse(name)
    with RegistryClient(remote.registry, tls_verify=True) as client:
        push_image(store, client, name, remote)


def export_cache(store: ImageStore, entries: Sequence[tuple[str, CachedLayer]], reference: str,
                 platform: Platform) -> Image:
    """Store ``entries`` (key, layer) as the cache image ``reference`` (a new revision of it)."""
    layers: list[Descriptor] = []
    diff_ids = []
    index_of: dict[str, int] = {}
    keyed = []
    for key, layer in entries:
        if layer.diff_id is not None and layer.digest not in index_of:
            index_of[layer.digest] = len(layers)
            layers.append(Descriptor(layer.media_type, layer.digest, layer.size))
            diff_ids.append(layer.diff_id)
        keyed.append([key, index_of.get(layer.digest) if layer.diff_id else None, layer.created])
    config = ImageConfig(
        architecture=platform.architecture, os=platform.os, variant=platform.variant, rootfs=RootFS(tuple(diff_ids)),
        config=ContainerConfig(labels={CACHE_LABEL: json.dumps(keyed, separators=(",", ":"))}),
        history=tuple(HistoryEntry(created_by="dockpy build cache") for _ in layers),
    )
    with store.writing():
        image = store.put_image(config, layers)
        store.add_revision(reference, image, operation="build", message="build cache (--cache-to)")
    return image


def import_cache(store: ImageStore, cache: BuildCache, image: Image) -> int:
    """Add the entries of the cache image ``image`` to ``cache``; returns how many."""
    labels = (image.config.config.labels if image.config.config else None) or {}
    if CACHE_LABEL not in labels:
        raise InvalidInputError(f"image {image.id.short} is not a build cache (it has no {CACHE_LABEL} label)")
    diff_ids = image.config.rootfs.diff_ids
    count = 0
    for key, index, created in json.loads(labels[CACHE_LABEL]):
        if index is None:
            cache.record(key, CachedLayer(None, None, 0, None, created))
        else:
            layer = image.layers[index]
            cache.record(key, CachedLayer(diff_ids[index], layer.digest, layer.size, layer.media_type, created))
        count += 1
    return count
