"""``dockpy builder prune``: drop the build cache, as ``docker builder prune`` does.

The build cache is the cache index (``cache``, with its ``cache:<key>`` gc
roots), the records that explain misses (``cache``), answer unchanged builds
(``fastpath``) and remember context file digests (``hashing``), and the
cache mounts (``cachemounts``). Pruning drops them all, except the cache
mounts a running step holds, then collects garbage: layer blobs that only
the cache kept are deleted, layers an image uses stay. The next build runs
every step again.

``dockpy gc`` alone never touches any of this: cache entries are gc roots,
and cache mounts are caches a Dockerfile asked for.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections import namedtuple

from dockpy.build.cachemounts import CACHE_MOUNTS_DIRECTORY, LOCK_SUFFIX
from dockpy.image import catalog
from dockpy.image.gc import collect_garbage
from dockpy.image.store import ImageStore
from dockpy.layers.tree_size import tree_size
from dockpy.metadata import transaction

# Every table of the build cache; each module creates its own on first use.
BUILD_CACHE_TABLES = ("build_cache", "build_step_inputs", "build_results", "build_file_digests")


class PruneReport(namedtuple("PruneReport", "cache_entries cache_mounts cache_mounts_in_use reclaimed_bytes")):
    """What ``prune_build_cache`` removed: entries, cache mount instances (and those kept, in use), bytes freed."""

    __slots__ = ()

    def to_json(self) -> dict:
        return {"CacheEntriesDeleted": self.cache_entries, "CacheMountsDeleted": self.cache_mounts,
                "CacheMountsInUse": self.cache_mounts_in_use, "SpaceReclaimed": self.reclaimed_bytes}


def prune_build_cache(store: ImageStore) -> PruneReport:
    """Remove the whole build cache (see the module docstring); waits for running builds before collecting."""
    entries = _drop_cache_records(store)
    removed, in_use, mount_bytes = _remove_cache_mounts(os.path.join(store.root.path, CACHE_MOUNTS_DIRECTORY))
    garbage = collect_garbage(store)
    return PruneReport(entries, removed, in_use, mount_bytes + garbage.reclaimed_bytes)


def _drop_cache_records(store: ImageStore) -> int:
    """Delete every build cache table's rows and the entries' gc roots in one transaction; the entry count."""
    db = store.db
    existing = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    with transaction(db):
        keys = [row[0] for row in db.execute("SELECT key FROM build_cache")] if "build_cache" in existing else []
        for key in keys:
            catalog.remove_roots(db, f"cache:{key}")
        for table in BUILD_CACHE_TABLES:
            if table in existing:
                db.execute(f"DELETE FROM {table}")
    return len(keys)


def _remove_cache_mounts(directory: str) -> tuple[int, int, int]:
    """Remove each cache mount instance no step holds: (removed, kept in use, bytes)."""
    try:
        names = sorted(name for name in os.listdir(directory) if not name.endswith(LOCK_SUFFIX))
    except FileNotFoundError:  # no build ever used a cache mount
        return 0, 0, 0
    removed = in_use = size = 0
    for name in names:
        freed = _remove_unless_held(os.path.join(directory, name))
        if freed is None:
            in_use += 1
        else:
            removed, size = removed + 1, size + freed
    return removed, in_use, size


def _remove_unless_held(instance: str) -> int | None:
    """Remove a cache mount instance under its exclusive lock; None if a step holds it. Returns its bytes."""
    fd = os.open(instance + LOCK_SUFFIX, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        size = tree_size(instance)
        shutil.rmtree(instance, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):  # another prune, at the same time
            os.unlink(instance + LOCK_SUFFIX)
        return size
    finally:
        os.close(fd)
