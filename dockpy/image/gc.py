"""Garbage collection: remove what no tag revision, container or cache entry reaches.

Roots are every revision of every tag (not just the current ones: history
must stay restorable by ``rollback``), the images and blobs other packages
hold in ``gc_roots`` (containers, build cache), and nothing else. From the
roots' manifests gc marks the config and layer blobs and the layers' chain
ids, then sweeps:

1. in one transaction, the ``images`` rows nothing reaches;
2. the blobs no surviving manifest names (a crash after step 1 leaves only
   unreferenced blobs, which the next run removes);
3. committed snapshots whose chain id no surviving image has, children
   first, and active snapshots left by crashed unpacks;
4. temporary files of writes that never finished.

The whole run holds the collector lease (``lease``), so no writer is between
writing a blob and committing the row that references it. If a reachable
manifest or config cannot be read, gc stops before deleting any blob: it
cannot know what that image needs (``dockpy fsck`` says what is wrong).
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from dockpy.errors import ConflictError, DockpyError, IntegrityError, NotFoundError
from dockpy.image import catalog
from dockpy.image.lease import collector_lease
from dockpy.image.oci import ImageConfig, Manifest, decode
from dockpy.image.store import ImageStore
from dockpy.layers.content import BlobInfo
from dockpy.layers.digests import ChainID, Digest, chain_ids
from dockpy.layers.snapshots import Kind, Snapshotter

# Temporary entries in <root>/tmp that only an unfinished write leaves behind:
# content-store ingests, snapshot dirs moved aside for deletion, exports and unpacks.
STALE_TEMP_PREFIXES = ("ingest-", "snapshot-removed-", "export-")
# Active snapshots made by ``unpack`` while it applies a layer; one that outlives its process was crashed.
UNPACK_KEY_PREFIX = "extract-"


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
class GcReport:
    """What a collection removed (or, for a dry run, would remove)."""

    images: tuple[Digest, ...]
    blobs: tuple[BlobInfo, ...]
    snapshots: tuple[str, ...]
    temp_files: tuple[Path, ...]
    reclaimed_bytes: int

    def to_json(self) -> dict:
        return {
            "ImagesDeleted": list(self.images), "BlobsDeleted": [b.digest for b in self.blobs],
            "SnapshotsDeleted": list(self.snapshots), "TempFilesDeleted": [str(p) for p in self.temp_files],
            "SpaceReclaimed": self.reclaimed_bytes,
        }


def collect_garbage(store: ImageStore, *, dry_run: bool = False, wait: bool = True) -> GcReport:
    """Remove everything unreachable; ``wait=False`` raises ``ConflictError`` instead of waiting for writers."""
    with collector_lease(store.root, wait=wait):
        doomed = _drop_unreachable_images(store, dry_run)
        reach = reachable(store, ignoring={row.manifest_digest for row in doomed})
        blobs = [blob for blob in store.content.walk() if blob.digest not in reach.blobs]
        snapshot_bytes, snapshots = _sweep_snapshots(store, reach.chain_ids, dry_run)
        temp_files = stale_temp_files(store)
        if not dry_run:
            for blob in blobs:
                store.content.delete(blob.digest)
            for path in temp_files:
                _remove(path)
    reclaimed = sum(b.size for b in blobs) + snapshot_bytes + sum(_size(p) for p in temp_files)
    return GcReport(_removed_image_ids(store, doomed), tuple(blobs), tuple(snapshots), tuple(temp_files), reclaimed)


def reachable(store: ImageStore, ignoring: set[Digest] = frozenset()) -> Reach:
    """What the recorded images (but those ``ignoring``) and the blob roots need.

    Raises ``IntegrityError`` if an image's manifest or config is unreadable.
    """
    with catalog.read_snapshot(store.db, "list images"):
        manifests = [row.manifest_digest for row in catalog.image_rows(store.db) if row.manifest_digest not in ignoring]
        reach = Reach(blobs=catalog.blob_roots(store.db))
    for manifest_digest in manifests:
        try:
            reach.add_image(store, manifest_digest)
        except DockpyError as error:  # missing, corrupt or unparsable: we cannot know what it needs
            raise IntegrityError(
                f"gc stopped, nothing was deleted: image manifest {manifest_digest} is unreadable: {error}",
                hint="run 'dockpy fsck'",
            ) from error
    return reach


def stale_temp_files(store: ImageStore) -> list[Path]:
    """Leftovers of writes that never finished. Only meaningful under the collector lease."""
    return sorted(path for path in store.root.tmp.iterdir() if path.name.startswith(STALE_TEMP_PREFIXES))


def _drop_unreachable_images(store: ImageStore, dry_run: bool) -> list[catalog.ImageRow]:
    with catalog.write_transaction(store.db, "collect garbage"):
        doomed = catalog.unreachable_images(store.db)
        if not dry_run:
            catalog.delete_images(store.db, [row.manifest_digest for row in doomed])
    return doomed


def _removed_image_ids(store: ImageStore, doomed: list[catalog.ImageRow]) -> tuple[Digest, ...]:
    """Ids of the dropped images that no other (surviving) manifest shares."""
    doomed_manifests = {row.manifest_digest for row in doomed}
    surviving = {row.image_id for row in catalog.image_rows(store.db) if row.manifest_digest not in doomed_manifests}
    return tuple(sorted({row.image_id for row in doomed} - surviving))


def _sweep_snapshots(store: ImageStore, live: set[ChainID], dry_run: bool) -> tuple[int, list[str]]:
    """Remove unreachable snapshots, newest first so children go before their parents."""
    removed, reclaimed = [], 0
    with Snapshotter(store.root) as snapshotter:
        for snapshot in reversed(snapshotter.walk()):
            if not _is_garbage_snapshot(snapshot.name, snapshot.kind, live):
                continue
            with contextlib.suppress(ConflictError, NotFoundError):  # still a parent, or gone meanwhile
                usage = snapshotter.usage(snapshot.name).size
                if not dry_run:
                    snapshotter.remove(snapshot.name)
                removed.append(snapshot.name)
                reclaimed += usage
        if not dry_run:
            snapshotter.cleanup()
    return reclaimed, removed


def _is_garbage_snapshot(name: str, kind: Kind, live: set[ChainID]) -> bool:
    if kind == Kind.COMMITTED:
        return name.startswith("sha256:") and name not in live
    return name.startswith(UNPACK_KEY_PREFIX)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _size(path: Path) -> int:
    try:
        if path.is_dir() and not path.is_symlink():
            return sum(p.lstat().st_size for p in path.rglob("*"))
        return path.lstat().st_size
    except OSError:
        return 0
