"""Fixtures for the image package: a store on a fresh root, and tiny images made from tars built in memory."""

from __future__ import annotations

import io
import tarfile

import pytest

from dockpy.image.oci import OCI_LAYER, Descriptor, HistoryEntry, ImageConfig, RootFS, format_timestamp
from dockpy.image.store import ImageStore
from dockpy.layers.digests import DiffID
from tests.rootfs_fixtures import busybox_tar, rootfs_tar_bytes  # noqa: F401  (busybox_tar registers the session fixture)


def layer_tar(files: dict[str, bytes | None]) -> bytes:
    """An uncompressed layer tar: ``path -> content`` (``None`` makes a directory)."""
    return rootfs_tar_bytes(files)


def put_test_image(store: ImageStore, *layers: dict[str, bytes | None], created_by: str = "test"):
    """Store uncompressed layers (digest = diff id) and an image of them; returns the ``Image``."""
    descriptors, history = [], []
    for files in layers:
        blob = store.content.put_bytes(layer_tar(files))
        descriptors.append(Descriptor(OCI_LAYER, blob.digest, blob.size))
        history.append(HistoryEntry(created=format_timestamp(), created_by=created_by))
    config = ImageConfig(
        architecture="amd64", os="linux", created=format_timestamp(),
        rootfs=RootFS(tuple(DiffID(d.digest) for d in descriptors)), history=tuple(history),
    )
    return store.put_image(config, descriptors)


@pytest.fixture
def image_store(storage_root):
    with ImageStore(storage_root) as store:
        yield store
