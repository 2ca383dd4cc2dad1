"""``dockpy system df``: what the store occupies, and what ``dockpy gc`` would give back.

Sizes are bytes as stored (compressed layers); a blob shared by several
images counts once. The reclaimable figures come from a gc plan made without
the collector lease, so they are an estimate while other dockpy processes write.

Blobs no image names are of two kinds: layers the build cache holds (its
``cache:<key>`` gc roots), which gc keeps and ``dockpy builder prune`` frees,
as Docker's "Build Cache" row counts them; and blobs nothing holds, which gc frees.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockpy.image import catalog
from dockpy.image.gc import GarbagePlan, Reach, plan_garbage
from dockpy.image.store import ImageStore
from dockpy.layers.digests import Digest
from dockpy.layers.snapshots import Kind, Snapshotter


# The commands that give back a row's reclaimable bytes.
GC = "dockpy gc"
BUILDER_PRUNE = "dockpy builder prune"

# gc_roots holders of the build cache's layers (dockpy/build/cache.py).
_BUILD_CACHE_HOLDER_PREFIX = "cache:"


@dataclass(frozen=True)
class UsageLine:
    """One row: how many things of a kind, how many are in use, their bytes, the bytes freed and by what command."""

    kind: str
    total: int
    active: int
    size: int
    reclaimable: int
    reclaimed_by: str = GC

    def to_json(self) -> dict:
        return {"Type": self.kind, "Total": self.total, "Active": self.active, "Size": self.size,
                "Reclaimable": self.reclaimable, "ReclaimedBy": self.reclaimed_by}


def disk_usage(store: ImageStore) -> list[UsageLine]:
    """Rows for images, snapshots, the build cache's layers, blobs nothing holds, and unfinished writes."""
    plan = plan_garbage(store)
    blob_sizes = {blob.digest: blob.size for blob in store.content.walk()}
    image_blobs = _blobs_of_recorded_images(store) & set(blob_sizes)
    cache_blobs = (_blobs_held_by_the_build_cache(store) & set(blob_sizes)) - image_blobs
    loose = set(blob_sizes) - image_blobs - cache_blobs
    garbage = {blob.digest for blob in plan.blobs}
    cache_size = _total(blob_sizes, cache_blobs)
    return [
        _images_line(store, image_blobs, blob_sizes, garbage),
        _snapshots_line(store, plan),
        UsageLine("Build Cache", len(cache_blobs), 0, cache_size, cache_size, reclaimed_by=BUILDER_PRUNE),
        UsageLine("Unreferenced blobs", len(loose), 0, _total(blob_sizes, loose), _total(blob_sizes, loose & garbage)),
        UsageLine("Temporary files", len(plan.temp_files), 0, plan.temp_bytes, plan.temp_bytes),
    ]


def _images_line(store: ImageStore, image_blobs: set, blob_sizes: dict, garbage: set) -> UsageLine:
    with catalog.read_snapshot(store.db, "measure images"):
        total = {row.image_id for row in catalog.image_rows(store.db)}
        active = {row["image_id"] for row in catalog.current_revisions(store.db)}
        active |= {target for _, kind, target in catalog.roots(store.db) if kind == "image"}
    return UsageLine("Images", len(total), len(active & total), _total(blob_sizes, image_blobs),
                     _total(blob_sizes, image_blobs & garbage))


def _snapshots_line(store: ImageStore, plan: GarbagePlan) -> UsageLine:
    with Snapshotter(store.root) as snapshotter:
        snapshots = snapshotter.walk()
        size = sum(snapshotter.usage(s.name).size for s in snapshots)
    active = sum(1 for s in snapshots if s.kind != Kind.COMMITTED)
    return UsageLine("Snapshots", len(snapshots), active, size, plan.snapshot_bytes)


def _blobs_held_by_the_build_cache(store: ImageStore) -> set:
    """Blobs a build cache entry holds: no image needs them (then they count there), builder prune frees them."""
    with catalog.read_snapshot(store.db, "list build cache layers"):
        roots = catalog.roots(store.db)
    return {Digest(target) for holder, kind, target in roots
            if kind == "blob" and holder.startswith(_BUILD_CACHE_HOLDER_PREFIX)}


def _blobs_of_recorded_images(store: ImageStore) -> set:
    reach = Reach()
    with catalog.read_snapshot(store.db, "list images"):
        manifests = [row.manifest_digest for row in catalog.image_rows(store.db)]
    for manifest_digest in manifests:
        reach.add_image(store, manifest_digest)
    return reach.blobs


def _total(sizes: dict, digests: set) -> int:
    return sum(sizes[digest] for digest in digests)
