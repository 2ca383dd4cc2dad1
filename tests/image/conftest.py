"""Fixtures for the image package: a store on a fresh root, and tiny images made from tars built in memory."""

from __future__ import annotations

import io
import tarfile

import pytest

from dockpy.image.oci import OCI_LAYER, Descriptor, HistoryEntry, ImageConfig, RootFS, format_timestamp
from dockpy.image.store import ImageStore
from dockpy.layers.digests import DiffID
from tests.rootfs_fixtures import busybox_tar  # noqa: F401  (registers the session fixture)


def layer_tar(files: dict[str, bytes | None]) -> bytes:
    """An uncompressed layer tar: ``path -> content`` (``None`` makes a directory)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.mtime = 1_700_000_000
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(content), 0o644
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


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
