"""``dockpy fsck``: check that the store is whole and every recorded image can be used.

Checks, in order:

- the metadata database's own structure (``PRAGMA quick_check``);
- every blob: re-hashed against its name; stray files in the blob directory;
- every recorded image, and so every revision of every tag: its manifest and
  config exist, verify and parse, the config is the image id the catalog
  records, every layer blob exists with the size the manifest declares, and
  the layer history the catalog keeps for ``dockpy history`` matches the config;
- every gc root names something stored;
- every snapshot row has its directory.

Unfinished writes (temporary ingest files) are counted but are not problems:
a crash may leave them and ``gc`` removes them. fsck holds a writer's lease so
that a concurrent gc cannot delete something between two of its checks.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass

from dockpy.errors import DockpyError, IntegrityError, NotFoundError
from dockpy.image import catalog
from dockpy.image.catalog import ImageRow, Revision
from dockpy.image.layer_history import encode_history, layer_history
from dockpy.image.leftovers import stale_temp_files
from dockpy.image.lease import write_lease
from dockpy.image.oci import ImageConfig, Manifest, decode
from dockpy.image.store import ImageStore
from dockpy.layers.digests import Digest
from dockpy.layers.snapshots import Snapshotter

_BLOB_NAME = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Problem:
    """One thing fsck found wrong: what it concerns and what is wrong with it."""

    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


@dataclass(frozen=True)
class FsckReport:
    problems: tuple[Problem, ...]
    blobs: int
    images: int
    revisions: int
    snapshots: int
    stale_temp_files: int

    @property
    def clean(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        return {
            "Problems": [str(p) for p in self.problems], "Blobs": self.blobs, "Images": self.images,
            "Revisions": self.revisions, "Snapshots": self.snapshots, "StaleTempFiles": self.stale_temp_files,
        }


def check_store(store: ImageStore) -> FsckReport:
    """Check everything (see the module docstring); never raises for what it finds, only reports it."""
    with write_lease(store.root):
        problems = _check_database(store)
        corrupt, blob_count = _check_blobs(store, problems)
        with catalog.read_snapshot(store.db, "read the catalog"):
            images = catalog.image_rows(store.db)
            revisions = catalog.all_revisions(store.db)
            roots = catalog.roots(store.db)
        users = _revisions_by_manifest(revisions)
        for row in images:
            problems += _check_image(store, row, corrupt, users[row.manifest_digest])
        problems += _check_roots(store, roots, {row.image_id for row in images})
        snapshot_count = _check_snapshots(store, problems)
        stale = len(stale_temp_files(store.root))
    return FsckReport(tuple(problems), blob_count, len(images), len(revisions), snapshot_count, stale)


def _check_database(store: ImageStore) -> list[Problem]:
    with catalog.translated_errors("check the metadata database"):
        results = [row[0] for row in store.db.execute("PRAGMA quick_check")]
    return [] if results == ["ok"] else [Problem("metadata database", result) for result in results]


def _check_blobs(store: ImageStore, problems: list[Problem]) -> tuple[set[Digest], int]:
    """Re-hash every blob; returns the corrupt ones and how many there are."""
    corrupt: set[Digest] = set()
    directory = store.root.blobs / "sha256"
    names = sorted(os.listdir(directory))
    for name in names:
        if not _BLOB_NAME.fullmatch(name):
            problems.append(Problem(f"blob directory {directory}", f"stray file {name!r}"))
            continue
        digest = Digest.from_hex(name)
        try:
            store.content.verify(digest)
        except DockpyError as error:  # IntegrityError, or NotFoundError if it vanished meanwhile
            corrupt.add(digest)
            problems.append(Problem(f"blob {digest}", str(error)))
    return corrupt, len(names)


def _check_image(store: ImageStore, row: ImageRow, corrupt: set[Digest], users: list[Revision]) -> list[Problem]:
    subject = f"image {row.image_id.short}" + (f" ({', '.join(r.reference for r in users)})" if users else " (untagged)")
    try:
        manifest = decode(Manifest, store.content.read_bytes(row.manifest_digest), f"manifest {row.manifest_digest}")
        if manifest.config.digest != row.image_id:
            return [Problem(subject, f"manifest {row.manifest_digest} names config {manifest.config.digest}")]
        config = decode(ImageConfig, store.content.read_bytes(row.image_id), f"config {row.image_id}")
    except DockpyError as error:
        return [Problem(subject, _unusable(error))]
    problems = [Problem(subject, message) for message in _layer_problems(store, manifest, corrupt)]
    if len(manifest.layers) != len(config.rootfs.diff_ids):
        problems.append(Problem(subject, f"{len(manifest.layers)} layers but {len(config.rootfs.diff_ids)} diff ids"))
    if row.layer_history != encode_history(layer_history(manifest, config)):
        problems.append(Problem(subject, "the catalog's layer history differs from the image config's"))
    return problems


def _layer_problems(store: ImageStore, manifest: Manifest, corrupt: set[Digest]) -> list[str]:
    messages = []
    for layer in manifest.layers:
        if layer.digest in corrupt:
            messages.append(f"layer {layer.digest} is corrupt")
        elif not store.content.has(layer.digest):
            messages.append(f"layer {layer.digest} is missing")
        elif store.content.info(layer.digest).size != layer.size:
            messages.append(f"layer {layer.digest} has {store.content.info(layer.digest).size} bytes, not {layer.size}")
    return messages


def _check_roots(store: ImageStore, roots: list[tuple[str, str, str]], image_ids: set[Digest]) -> list[Problem]:
    problems = []
    for holder, kind, target in roots:
        if kind == "image" and target not in image_ids:
            problems.append(Problem(holder, f"holds image {target}, which is not stored"))
        elif kind == "blob" and not store.content.has(Digest(target)):
            problems.append(Problem(holder, f"holds blob {target}, which is missing"))
    return problems


def _check_snapshots(store: ImageStore, problems: list[Problem]) -> int:
    with Snapshotter(store.root) as snapshotter:
        snapshots = snapshotter.walk()
    for snapshot in snapshots:
        if not snapshot.directory.is_dir():
            problems.append(Problem(f"snapshot {snapshot.name}", f"directory {snapshot.directory} is missing"))
    return len(snapshots)


def _revisions_by_manifest(revisions: list[Revision]) -> dict[Digest, list[Revision]]:
    users: dict[Digest, list[Revision]] = defaultdict(list)
    for revision in revisions:
        users[revision.manifest_digest].append(revision)
    return users


def _unusable(error: DockpyError) -> str:
    if isinstance(error, NotFoundError):
        return f"missing: {error}"
    if isinstance(error, IntegrityError):
        return f"corrupt: {error}"
    return f"unreadable: {error}"
