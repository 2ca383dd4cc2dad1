"""import: a rootfs tar becomes a one-layer image; export: an image's layers flattened into one tar."""

import io
import tarfile

import pytest

from dockpy.errors import DockpyError, InvalidReferenceError
from dockpy.image.oci import OCI_LAYER_GZIP, OCI_LAYER_ZSTD
from dockpy.image.rootfs_archive import atomic_output, export_rootfs, import_rootfs
from dockpy.layers.compression import Compression
from tests.image.conftest import put_test_image
from tests.rootfs_fixtures import rootfs_tar_bytes

FILES = {"etc/": None, "etc/hostname": b"box\n", "bin/": None, "bin/tool": b"#!/bin/sh\necho hi\n"}


def members(tar_bytes: bytes) -> dict[str, tuple]:
    """name -> (type, mode, content or link target), names without a leading ./"""
    result = {}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for info in tar:
            name = info.name.removeprefix("./").rstrip("/")
            if not name or name == ".":
                continue
            data = tar.extractfile(info).read() if info.isfile() else info.linkname
            result[name] = (info.type, info.mode, data)
    return result


def blob_files(store):
    return sorted(p.name for p in (store.root.blobs / "sha256").iterdir())


def test_import_makes_a_one_layer_image_and_a_revision(image_store):
    image, revision = import_rootfs(image_store, io.BytesIO(rootfs_tar_bytes(FILES)), "app:1", source="fs.tar")
    assert len(image.layers) == 1 and image.layers[0].media_type == OCI_LAYER_ZSTD
    assert image.config.history[0].comment == "Imported from fs.tar"
    assert image.config.config is None
    assert (revision.reference, revision.operation, revision.message) == ("app:1@1", "import", "import fs.tar")
    assert image_store.resolve("app:1") == image


def test_import_without_a_name_leaves_an_untagged_image(image_store):
    image, revision = import_rootfs(image_store, io.BytesIO(rootfs_tar_bytes(FILES)))
    assert revision is None
    assert image_store.images()[0].image_id == image.id


def test_import_can_store_gzip_layers(image_store):
    image, _ = import_rootfs(image_store, io.BytesIO(rootfs_tar_bytes(FILES)), compression=Compression.GZIP)
    assert image.layers[0].media_type == OCI_LAYER_GZIP


def test_importing_the_same_tar_with_source_date_epoch_gives_the_same_image_id(image_store, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first, _ = import_rootfs(image_store, io.BytesIO(rootfs_tar_bytes(FILES)), "a")
    second, _ = import_rootfs(image_store, io.BytesIO(rootfs_tar_bytes(FILES)), "b")
    assert first.id == second.id
    assert first.config.created == "2023-11-14T22:13:20Z"


def test_a_truncated_tar_stores_nothing(image_store):
    data = rootfs_tar_bytes({"big": b"x" * 100_000})
    with pytest.raises(DockpyError):
        import_rootfs(image_store, io.BytesIO(data[:50_000]), "app")
    assert blob_files(image_store) == []
    assert image_store.images() == []
    assert list(image_store.root.tmp.iterdir()) == []


def test_a_bad_name_fails_before_the_tar_is_read(image_store):
    stream = io.BytesIO(rootfs_tar_bytes(FILES))
    with pytest.raises(InvalidReferenceError):
        import_rootfs(image_store, stream, "Bad:Name:")
    assert stream.tell() == 0


def test_export_of_an_imported_rootfs_gives_back_its_files(image_store):
    original = rootfs_tar_bytes(FILES, symlinks={"bin/sh": "tool"})
    import_rootfs(image_store, io.BytesIO(original), "app")
    out = io.BytesIO()
    export_rootfs(image_store, "app", out)
    assert members(out.getvalue()) == members(original)


def test_export_applies_whiteouts_and_later_layers(image_store):
    put = put_test_image(
        image_store,
        {"etc/": None, "etc/keep": b"1", "etc/gone": b"2", "var/": None, "var/old": b"o"},
        {"etc/": None, "etc/.wh.gone": b"", "etc/keep": b"changed", "var/": None, "var/.wh..wh..opq": b"", "var/new": b"n"},
    )
    out = io.BytesIO()
    export_rootfs(image_store, put.id, out)
    files = {name: entry[2] for name, entry in members(out.getvalue()).items() if entry[0] == tarfile.REGTYPE}
    assert files == {"etc/keep": b"changed", "var/new": b"n"}


def test_export_is_deterministic(image_store):
    import_rootfs(image_store, io.BytesIO(rootfs_tar_bytes(FILES)), "app")
    first, second = io.BytesIO(), io.BytesIO()
    export_rootfs(image_store, "app", first)
    export_rootfs(image_store, "app", second)
    assert first.getvalue() == second.getvalue()


def test_export_of_an_imported_busybox_rootfs_round_trips(image_store, busybox_tar):
    import_rootfs(image_store, busybox_tar.open("rb"), "busybox")
    out = io.BytesIO()
    export_rootfs(image_store, "busybox", out)
    assert members(out.getvalue()) == members(busybox_tar.read_bytes())


def test_atomic_output_leaves_nothing_when_the_write_fails(tmp_path):
    with pytest.raises(RuntimeError), atomic_output(tmp_path / "out.tar") as out:
        out.write(b"partial")
        raise RuntimeError("disk went away")
    assert list(tmp_path.iterdir()) == []
    with atomic_output(tmp_path / "out.tar") as out:
        out.write(b"whole")
    assert (tmp_path / "out.tar").read_bytes() == b"whole"


def test_export_to_a_device_or_fifo_writes_into_it_and_leaves_it_in_place(image_store, tmp_path):
    """``-o /dev/null`` must not rename a regular file over the null device (nor over a FIFO)."""
    import os
    import stat
    import threading

    from dockpy.image.rootfs_archive import atomic_output

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo, "rb").read()))
    reader.start()
    with atomic_output(fifo) as out:
        out.write(b"tar bytes")
    reader.join(timeout=10)
    assert received == [b"tar bytes"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    with atomic_output(os.devnull) as out:
        out.write(b"discarded")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert not [name for name in os.listdir("/dev") if name.startswith(".null.")]
