"""Unpack an image's layers into committed snapshots, one per chain id.

Each layer is applied in overlay form (whiteouts as 0/0 devices, opaque
xattrs) into a fresh active snapshot ``extract-<random>`` on top of the
previous layer's snapshot, then committed under the layer's chain id. A
chain id already committed (by an earlier unpack, or by another image sharing
the bottom layers) is reused, so unpacking costs only the layers not yet seen.

A crash leaves an ``extract-*`` active snapshot, which ``gc`` removes. Two
processes unpacking the same layer both apply it; the second commit finds
the name taken and its copy is dropped.

Every layer's uncompressed stream is hashed while it is applied and must
equal the diff_id the image config promises, before its snapshot is
committed. Snapshots are keyed by chain ids computed from those diff_ids, so
a layer that lied about its diff_id (a hostile registry, a crafted archive)
would otherwise plant its files under the key of another image's layer.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from pathlib import Path

from dockpy.errors import ConflictError, DockpyError, IntegrityError, NotFoundError
from dockpy.image.leftovers import UNPACK_KEY_PREFIX
from dockpy.image.oci import Descriptor
from dockpy.image.store import Image, ImageStore
from dockpy.layers.compression import open_layer
from dockpy.layers.digests import ChainID, DiffID, chain_ids
from dockpy.layers.snapshots import Kind, Snapshotter
from dockpy.layers.tarapply import apply_layer


def unpack_image(store: ImageStore, image: Image, snapshotter: Snapshotter) -> list[Path]:
    """Committed snapshots for every layer of ``image``; their ``fs`` dirs, top-most first.

    Hold ``store.writing()`` around this and the use of the result, so gc
    does not remove the snapshots meanwhile.
    """
    diff_ids = image.config.rootfs.diff_ids
    chain = chain_ids(diff_ids)
    parent = None
    for layer, diff_id, chain_id in zip(image.layers, diff_ids, chain, strict=True):
        if not _is_committed(snapshotter, chain_id):
            _unpack_layer(store, snapshotter, layer, diff_id, chain_id, parent)
        parent = chain_id
    return [snapshotter.directory(chain_id) for chain_id in reversed(chain)]


def _unpack_layer(store: ImageStore, snapshotter: Snapshotter, layer: Descriptor, diff_id: DiffID,
                  chain_id: ChainID, parent: ChainID | None) -> None:
    key = f"{UNPACK_KEY_PREFIX}{uuid.uuid4().hex}"
    snapshotter.prepare(key, parent=parent)
    try:
        with open_layer(store.content, layer.digest) as tar:
            hashed = _DiffIdReader(tar)
            apply_layer(hashed, snapshotter.directory(key), whiteout_mode="overlay")
            actual = hashed.finish()
        if actual != diff_id:
            raise IntegrityError(f"layer {layer.digest} unpacks to {actual}, but the image config says {diff_id}")
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


class _DiffIdReader:
    """Passes a layer's uncompressed tar through, hashing it; ``finish`` reads the rest and gives the diff_id."""

    def __init__(self, stream):
        self._stream = stream
        self._hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._hash.update(data)
        return data

    def finish(self) -> DiffID:
        # The tar may end (two zero blocks) before the stream does: padding counts in the diff_id.
        while self.read(1 << 20):
            pass
        return DiffID.from_hex(self._hash.hexdigest())
