"""Unpack an image's layers into committed snapshots, one per chain id.

Each layer is applied in overlay form (whiteouts as 0/0 devices, opaque
xattrs) into a fresh active snapshot ``extract-<random>`` on top of the
previous layer's snapshot, then committed under the layer's chain id. A
chain id already committed (by an earlier unpack, or by another image sharing
the bottom layers) is reused, so unpacking costs only the layers not yet seen.

A crash leaves an ``extract-*`` active snapshot, which ``gc`` removes. Two
processes unpacking the same layer both apply it; the second commit finds
the name taken and its copy is dropped.
"""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

from dockpy.errors import ConflictError, DockpyError, NotFoundError
from dockpy.image.leftovers import UNPACK_KEY_PREFIX
from dockpy.image.oci import Descriptor
from dockpy.image.store import Image, ImageStore
from dockpy.layers.compression import open_layer
from dockpy.layers.digests import ChainID, chain_ids
from dockpy.layers.snapshots import Kind, Snapshotter
from dockpy.layers.tarapply import apply_layer


def unpack_image(store: ImageStore, image: Image, snapshotter: Snapshotter) -> list[Path]:
    """Committed snapshots for every layer of ``image``; their ``fs`` dirs, top-most first.

    Hold ``store.writing()`` around this and the use of the result, so gc
    does not remove the snapshots meanwhile.
    """
    chain = chain_ids(image.config.rootfs.diff_ids)
    parent = None
    for layer, chain_id in zip(image.layers, chain, strict=True):
        if not _is_committed(snapshotter, chain_id):
            _unpack_layer(store, snapshotter, layer, chain_id, parent)
        parent = chain_id
    return [snapshotter.directory(chain_id) for chain_id in reversed(chain)]


def _unpack_layer(store: ImageStore, snapshotter: Snapshotter, layer: Descriptor, chain_id: ChainID,
                  parent: ChainID | None) -> None:
    key = f"{UNPACK_KEY_PREFIX}{uuid.uuid4().hex}"
    snapshotter.prepare(key, parent=parent)
    try:
        with open_layer(store.content, layer.digest) as tar:
            apply_layer(tar, snapshotter.directory(key), whiteout_mode="overlay")
        snapshotter.commit(chain_id, key)
    except ConflictError:
        if not _is_committed(snapshotter, chain_id):
            raise
        snapshotter.remove(key)  # another process committed the same layer first
    except BaseException:
        with contextlib.suppress(DockpyError):
            snapshotter.remove(key)
        raise


def _is_committed(snapshotter: Snapshotter, name: str) -> bool:
    try:
        return snapshotter.stat(name).kind == Kind.COMMITTED
    except NotFoundError:
        return False
