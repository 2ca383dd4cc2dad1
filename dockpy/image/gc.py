"""Garbage collection: remove what no tag revision, container or cache entry reaches.

Roots are every revision of every tag (not just the current ones: history
must stay restorable by ``rollback``), the images and blobs other packages
hold in ``gc_roots`` (containers, build cache), and nothing else. From the
surviving images' manifests gc marks the config and layer blobs and the
layers' chain ids (``plan_garbage``), then sweeps (``collect_garbage``):

1. in one transaction, the ``images`` rows nothing reaches;
2. the blobs no surviving manifest names (a crash after step 1 leaves only
   unreferenced blobs, which the next run removes);
3. committed snapshots whose chain id no surviving image has, children
   first, and active snapshots left by crashed unpacks (``unpack``);
4. temporary files of writes that never finished.

The whole run holds the collector lease (``lease``), so no writer is between
writing a blob and committing the row that references it. If a surviving
manifest or config cannot be read, gc stops before deleting anything: it
cannot know what that image needs (``dockpy fsck`` says what is wrong).

``rmi`` collects with a scope: only the images it untagged are candidates,
with what they alone reached, so it never drops unrelated untagged images.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from dockpy.errors import ConflictError, DockpyError, IntegrityError, NotFoundError
from dockpy.image import catalog
from dockpy.image.catalog import ImageRow
from dockpy.image.leftovers import BUILD_RUN_SCRATCH_PREFIX, LEFTOVER_SNAPSHOT_PREFIXES, stale_temp_files
from dockpy.image.lease import collector_lease
from dockpy.image.oci import ImageConfig, Manifest, decode
from dockpy.image.store import ImageStore
from dockpy.layers.content import BlobInfo
from dockpy.layers.digests import ChainID, Digest, chain_ids
from dockpy.layers.mounts import unmount_all_below
from dockpy.layers.snapshots import Kind, SnapshotInfo, Snapshotter



@dataclass
class Reach:
    """What a set of manifests needs: their blobs (manifest, config, layers) and their layers' chain ids."""

    blobs: set[Digest] = field(default_factory=set)
    chain_ids: set[ChainID] = field(default_factory=set)

    def add_image(self, store: ImageStore, manifest_digest: Digest) -> None:
        manifest = decode(Manifest, store.content.read_bytes(manifest_digest), f"manifest {manifest_digest}")
        config = decode(ImageConfig, store.content.read_bytes(manifest.config.digest), f"config {manifest.config.digest}")
        self.blobs.update((manifest_digest, manifest.config.digest, *(layer.digest for layer in manifest.layers)))
        self.chain_ids.update(chain_ids(config.rootfs.diff_ids))


@dataclass(frozen=True)
class GarbagePlan:
    """What a collection removes: image rows, blobs, snapshots (with their bytes) and temporary files."""

    images: tuple[ImageRow, ...]
    image_ids: tuple[Digest, ...]  # of the dropped images that no surviving manifest shares
    blobs: tuple[BlobInfo, ...]
    snapshots: tuple[SnapshotInfo, ...]
    snapshot_bytes: int
    temp_files: tuple[Path, ...]
    temp_bytes: int
    # Scoped to some images (rmi): crash leftovers (temp files, orphan snapshot dirs) are left alone.
    scoped: bool

    @property
    def reclaimed_bytes(self) -> int:
        return sum(blob.size for blob in self.blobs) + self.snapshot_bytes + self.temp_bytes

    def to_json(self) -> dict:
        return {
            "ImagesDeleted": list(self.image_ids), "BlobsDeleted": [b.digest for b in self.blobs],
            "SnapshotsDeleted": [s.name for s in self.snapshots],
            "TempFilesDeleted": [str(p) for p in self.temp_files], "SpaceReclaimed": self.reclaimed_bytes,
        }


def collect_garbage(store: ImageStore, *, dry_run: bool = False, wait: bool = True,
                    only_images: Collection[Digest] | None = None) -> GarbagePlan:
    """Remove everything unreachable (or, with ``only_images``, what only those manifests reached).

    ``wait=False`` raises ``ConflictError`` instead of waiting for writers to finish.
    """
    with collector_lease(store.root, wait=wait):
        plan = plan_garbage(store, only_images)
        if not dry_run:
            _sweep(store, plan)
    return plan


def plan_garbage(store: ImageStore, only_images: Collection[Digest] | None = None) -> GarbagePlan:
    """Mark and list what a collection would remove; exact only under the collector lease."""
    with catalog.read_snapshot(store.db, "plan garbage collection"):
        doomed = [row for row in catalog.unreachable_images(store.db)
                  if only_images is None or row.manifest_digest in only_images]
        doomed_manifests = {row.manifest_digest for row in doomed}
        surviving_rows = [row for row in catalog.image_rows(store.db) if row.manifest_digest not in doomed_manifests]
        live = Reach(blobs=catalog.blob_roots(store.db))
    for row in surviving_rows:
        _mark(store, live, row.manifest_digest)
    if only_images is None:
        scope = None
        blobs = [blob for blob in store.content.walk() if blob.digest not in live.blobs]
        temp_files = stale_temp_files(store.root)
    else:
        scope = _reach_of_doomed(store, doomed)
        blobs = [store.content.info(d) for d in sorted(scope.blobs - live.blobs) if store.content.has(d)]
        temp_files = []
    snapshots, snapshot_bytes = _garbage_snapshots(store, live.chain_ids, scope)
    temp_bytes = sum(_size(path) for path in temp_files)
    removed_ids = sorted({row.image_id for row in doomed} - {row.image_id for row in surviving_rows})
    return GarbagePlan(tuple(doomed), tuple(removed_ids), tuple(blobs), tuple(snapshots), snapshot_bytes,
                       tuple(temp_files), temp_bytes, scoped=scope is not None)


def _mark(store: ImageStore, live: Reach, manifest_digest: Digest) -> None:
    try:
        live.add_image(store, manifest_digest)
    except DockpyError as error:  # missing, corrupt or unparsable: we cannot know what it needs
        raise IntegrityError(
            f"gc stopped, nothing was deleted: image manifest {manifest_digest} is unreadable: {error}",
            hint="run 'dockpy fsck'",
        ) from error


def _reach_of_doomed(store: ImageStore, doomed: list[ImageRow]) -> Reach:
    """What the images about to be dropped reached; an unreadable one reached nothing we can name."""
    reach = Reach()
    for row in doomed:
        with contextlib.suppress(DockpyError):
            reach.add_image(store, row.manifest_digest)
    return reach


def _garbage_snapshots(store: ImageStore, live: set[ChainID], scope: Reach | None) -> tuple[list[SnapshotInfo], int]:
    """Unreachable snapshots, newest first so that children go before their parents."""
    with Snapshotter(store.root) as snapshotter:
        garbage = [s for s in reversed(snapshotter.walk()) if _is_garbage_snapshot(s, live, scope)]
        sizes = []
        for snapshot in garbage:
            with contextlib.suppress(NotFoundError):
                sizes.append(snapshotter.usage(snapshot.name).size)
    return garbage, sum(sizes)


def _is_garbage_snapshot(snapshot: SnapshotInfo, live: set[ChainID], scope: Reach | None) -> bool:
    if snapshot.kind == Kind.COMMITTED:
        in_scope = scope is None or snapshot.name in scope.chain_ids
        return in_scope and snapshot.name.startswith("sha256:") and snapshot.name not in live
    return scope is None and snapshot.name.startswith(LEFTOVER_SNAPSHOT_PREFIXES)


def _sweep(store: ImageStore, plan: GarbagePlan) -> None:
    with catalog.write_transaction(store.db, "collect garbage"):
        catalog.delete_images(store.db, [row.manifest_digest for row in plan.images])
    for blob in plan.blobs:
        store.content.delete(blob.digest)
    # Temp files first: a killed build's overlay mounted there may still use a leftover snapshot.
    for path in plan.temp_files:
        _remove(path)
    with Snapshotter(store.root) as snapshotter:
        for snapshot in plan.snapshots:
            with contextlib.suppress(ConflictError, NotFoundError):  # still a parent, or already gone
                snapshotter.remove(snapshot.name)
        if not plan.scoped:
            snapshotter.cleanup()


def _remove(path: Path) -> None:
    if path.name.startswith(BUILD_RUN_SCRATCH_PREFIX):
        _remove_run_cgroup(path.name)
    if path.is_dir() and not path.is_symlink():
        unmount_all_below(path)  # a killed build's tmpfs or overlay: never delete through a mount
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _remove_run_cgroup(container_id: str) -> None:
    """The cgroup of a killed build's RUN step, named after its scratch directory (empty: its processes died
    with the build). Left alone when it still has processes, or without root."""
    if os.geteuid() != 0:
        return
    from dockpy.runtime.namespace import cgroups

    with contextlib.suppress(DockpyError):
        cgroups.container_cgroup(cgroups.detect_layout(), cgroups.parent_from_environment(), container_id).remove()


def _size(path: Path) -> int:
    """Bytes of a leftover file or tree, not counting filesystems mounted in it (a killed build's tmpfs)."""
    try:
        if not path.is_dir() or path.is_symlink():
            return path.lstat().st_size
        if path.is_mount():
            return 0
        total = 0
        for directory, subdirectories, files in os.walk(path):
            subdirectories[:] = [name for name in subdirectories if not os.path.ismount(os.path.join(directory, name))]
            total += sum(os.lstat(os.path.join(directory, name)).st_size for name in files)
        return total
    except OSError:
        return 0
