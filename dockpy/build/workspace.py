"""One filesystem step's scratch space: a prepared snapshot whose upper dir becomes the layer.

Scenario of a step that misses the cache::

    with StepWorkspace(snapshotter, parent_chain, tmp) as workspace:
        with workspace.mounted() as rootfs:      # overlay: lower = the parent's layers
            ...                                  # COPY writes into rootfs (RUN gets workspace.mounts)
        blob = workspace.commit_layer(store, compression, epoch)   # None when nothing changed

Leaving the ``with`` block without ``commit_layer`` (an exception, a failed
RUN) removes the snapshot: a failed step leaves no snapshot behind. The
layer tar is written from the upper dir alone, so its cost follows the
size of the change, never the size of the image.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator

from dockpy.errors import ConflictError, DockpyError
from dockpy.image.leftovers import BUILD_KEY_PREFIX
from dockpy.layers.compression import Compression, LayerBlob, commit_layer
from dockpy.layers.content import ContentStore
from dockpy.layers.digests import ChainID, DiffID, chain_ids
from dockpy.layers.mounts import Mount, mount_all, unmount
from dockpy.layers.snapshots import Snapshotter
from dockpy.layers.tarwriter import write_layer_tar

MOUNT_DIRECTORY_PREFIX = "build-rootfs-"


@contextlib.contextmanager
def mounted_in_new_directory(mounts: list[Mount], prefix: str, directory: str) -> Iterator[str]:
    """``mounts`` performed on a new directory in ``directory``; unmounted and removed after the block."""
    target = tempfile.mkdtemp(prefix=prefix, dir=directory)
    try:
        mount_all(mounts, target)
        try:
            yield target
        finally:
            unmount(target)
    finally:
        os.rmdir(target)


class StepWorkspace:
    """An active snapshot on ``parent`` for one build step (see the module docstring)."""

    def __init__(self, snapshotter: Snapshotter, parent: ChainID | None, scratch_dir: str):
        self._snapshotter = snapshotter
        self._parent = parent
        self._scratch_dir = scratch_dir
        self.key = f"{BUILD_KEY_PREFIX}{uuid.uuid4().hex}"
        self.mounts: list[Mount] = []
        self.committed_as: ChainID | None = None
        self._done = False

    def __enter__(self) -> "StepWorkspace":
        self.mounts = self._snapshotter.prepare(self.key, parent=self._parent)
        self.upper = str(self._snapshotter.directory(self.key))
        self.work = os.path.join(os.path.dirname(self.upper), "work")
        return self

    def __exit__(self, *exc_info) -> None:
        if not self._done:
            with contextlib.suppress(DockpyError):
                self._snapshotter.remove(self.key)

    @contextlib.contextmanager
    def mounted(self) -> Iterator[str]:
        """The step's root filesystem mounted read-write at a temporary directory."""
        with mounted_in_new_directory(self.mounts, MOUNT_DIRECTORY_PREFIX, self._scratch_dir) as target:
            yield target

    def is_empty(self) -> bool:
        return not os.listdir(self.upper)

    def commit_layer(self, content: ContentStore, compression: Compression, epoch: int | None) -> LayerBlob | None:
        """Store the upper dir as a layer and commit the snapshot under its chain id; None if it is empty."""
        if self.is_empty():
            return None
        blob = commit_layer(content, lambda out: write_layer_tar(self.upper, out, source_date_epoch=epoch), compression)
        self.commit_snapshot(blob.diff_id)
        return blob

    def commit_snapshot(self, diff_id: DiffID) -> ChainID:
        chain = next_chain_id(self._parent, diff_id)
        try:
            self._snapshotter.commit(chain, self.key)
        except ConflictError:
            # The same layer on the same parent exists already (another build made it): keep that one.
            self._snapshotter.remove(self.key)
        self._done = True
        self.committed_as = chain
        return chain


def next_chain_id(parent: ChainID | None, diff_id: DiffID) -> ChainID:
    """The chain id of ``diff_id`` stacked on the layers whose chain id is ``parent``."""
    if parent is None:
        return ChainID(diff_id)
    return chain_ids([DiffID(parent), diff_id])[-1]
