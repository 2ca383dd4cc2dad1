"""What unfinished writes leave behind, by name, so that gc can find it and nothing else.

A process killed mid-write leaves a temporary file or directory under
``<root>/tmp`` (an ingest, an export's scratch tree, a snapshot dir the
snapshotter moved aside to delete, the runtime's init layer being made, a
build's scratch directories, with whatever the build had mounted there) or
an active snapshot named like an unpack's. Writers hold the write lease (``lease``) while such things are
theirs; under the collector lease, every one of them is a leftover.
"""

from __future__ import annotations

from pathlib import Path

from dockpy.layers.content import INGEST_PREFIX
from dockpy.root import StorageRoot

EXPORT_SCRATCH_PREFIX = "export-"
# The snapshotter's own prefix for directories it moves aside before deleting them.
REMOVED_SNAPSHOT_PREFIX = "snapshot-removed-"
UNPACK_KEY_PREFIX = "extract-"
# Active snapshots of build steps (``dockpy.build.workspace``), and a build's scratch directories in
# <root>/tmp (a RUN's root, tmpfs, secret and bind mounts, views of stages): a build holds the write
# lease throughout. A killed build may leave mounts in its scratch directories (``gc`` detaches them).
BUILD_KEY_PREFIX = "build-"
# A RUN step's scratch directory; its container (and cgroup) is named after it, so that gc can remove
# the cgroup a killed build's RUN left (the kernel killed the step's processes with the build).
BUILD_RUN_SCRATCH_PREFIX = "build-run-"
LEFTOVER_SNAPSHOT_PREFIXES = (UNPACK_KEY_PREFIX, BUILD_KEY_PREFIX)
# The shared init layer is made here, then renamed to <root>/init (``dockpy.runtime.initlayer``).
INIT_LAYER_STAGING_PREFIX = "init-layer-"
STALE_TEMP_PREFIXES = (INGEST_PREFIX, EXPORT_SCRATCH_PREFIX, REMOVED_SNAPSHOT_PREFIX, INIT_LAYER_STAGING_PREFIX,
                       BUILD_KEY_PREFIX)


def stale_temp_files(root: StorageRoot) -> list[Path]:
    """Leftovers under ``<root>/tmp``; only certain under the collector lease."""
    return sorted(path for path in root.tmp.iterdir() if path.name.startswith(STALE_TEMP_PREFIXES))
