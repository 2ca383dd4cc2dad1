"""Fixtures for archive tests: a source store with two images sharing a layer (built once), archives in memory.

``source_store`` holds ``busybox:latest`` (the busybox rootfs imported as one
zstd layer) and ``localhost/app:1`` (that layer plus a small one). Tests only
read it; tests that load get a fresh ``image_store`` of their own.
"""

from __future__ import annotations

import io
import tarfile

import pytest

from dockpy.image.archive import ArchiveFormat, TarArchiveWriter, save_images
from dockpy.image.oci import Descriptor, HistoryEntry
from dockpy.image.rootfs_archive import import_rootfs
from dockpy.image.store import ImageStore
from dockpy.layers.compression import Compression, store_layer_from_tar
from dockpy.root import StorageRoot
from tests.image.conftest import layer_tar

APP_FILES = {"app": None, "app/hello.txt": b"hello from the app layer\n"}


@pytest.fixture(scope="session")
def source_store(busybox_tar, tmp_path_factory):
    root = StorageRoot(tmp_path_factory.mktemp("archive-source") / "root").create()
    with ImageStore(root) as store:
        with open(busybox_tar, "rb") as tar:
            busybox, _ = import_rootfs(store, tar, "busybox:latest", source="busybox.tar")
        app_layer = store_layer_from_tar(store.content, io.BytesIO(layer_tar(APP_FILES)), Compression.ZSTD)
        config = busybox.config.with_layer(app_layer.diff_id, HistoryEntry(created_by="COPY app /app"))
        app = store.put_image(config, [*busybox.layers, Descriptor(app_layer.media_type, app_layer.digest, app_layer.size)])
        store.add_revision("localhost/app:1", app, operation="build")
        yield store


def save_to_bytes(store: ImageStore, *references: str, archive_format=ArchiveFormat.OCI, compression=None) -> bytes:
    out = io.BytesIO()
    save_images(store, references, TarArchiveWriter(out), archive_format=archive_format, compression=compression)
    return out.getvalue()


def tar_members(data: bytes) -> dict[str, bytes | None]:
    """An archive's regular files by name (``None`` for other entries), read with the standard library."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() if m.isfile() else None for m in tar.getmembers()}


def make_tar(files: dict[str, bytes], *, symlinks: dict[str, str] | None = None,
             hardlinks: dict[str, str] | None = None) -> bytes:
    """A tar of ``files`` in the given order, then the links (``name -> target``)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for kind, links in ((tarfile.SYMTYPE, symlinks or {}), (tarfile.LNKTYPE, hardlinks or {})):
            for name, target in links.items():
                info = tarfile.TarInfo(name)
                info.type, info.linkname = kind, target
                tar.addfile(info)
    return buffer.getvalue()

