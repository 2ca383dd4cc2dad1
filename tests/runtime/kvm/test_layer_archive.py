"""Small layers as cpio archives: what the kernel's unpacker (here busybox cpio, the same format) gets back."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

from dockpy.runtime.kvm import layer_archive

needs_busybox = pytest.mark.skipif(shutil.which("busybox") is None, reason="busybox is not installed")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (device nodes, owners, trusted.* xattrs)")


@pytest.fixture
def layer(tmp_path):
    directory = tmp_path / "snapshots" / "3" / "fs"
    (directory / "etc").mkdir(parents=True)
    (directory / "etc" / "file").write_text("content\n")
    os.utime(directory / "etc" / "file", (1_600_000_000.75, 1_600_000_000.75))
    (directory / "bin").mkdir()
    (directory / "bin" / "tool").write_bytes(b"\x7fELF binary")
    (directory / "bin" / "tool").chmod(0o4755)
    (directory / "bin" / "alias").symlink_to("tool")
    os.link(directory / "bin" / "tool", directory / "bin" / "hardlink")
    return directory


@needs_busybox
def test_hard_links_to_a_symlink_each_keep_the_target(layer, tmp_path):
    os.link(layer / "bin" / "alias", layer / "bin" / "alias2", follow_symlinks=False)
    _unpack(layer_archive.archive_bytes(layer), tmp_path / "guest")
    unpacked = tmp_path / "guest" / layer_archive.guest_path(layer).lstrip("/") / "bin"
    assert os.readlink(unpacked / "alias") == os.readlink(unpacked / "alias2") == "tool"


def _unpack(archive: bytes, into) -> None:
    into.mkdir()
    subprocess.run(["busybox", "cpio", "-i", "-d", "-m"], input=archive, cwd=into, check=True, capture_output=True)


@needs_busybox
def test_the_unpacked_archive_is_the_layer_under_its_guest_path(layer, tmp_path):
    _unpack(layer_archive.archive_bytes(layer), tmp_path / "guest")
    unpacked = tmp_path / "guest" / layer_archive.guest_path(layer).lstrip("/")
    assert (unpacked / "etc" / "file").read_text() == "content\n"
    assert os.readlink(unpacked / "bin" / "alias") == "tool"
    assert stat.S_IMODE((unpacked / "bin" / "tool").stat().st_mode) == 0o4755
    assert (unpacked / "etc" / "file").stat().st_mtime == 1_600_000_000  # whole seconds


@needs_busybox
def test_hard_links_stay_one_file_with_its_content_once(layer, tmp_path):
    archive = layer_archive.archive_bytes(layer)
    assert archive.count(b"\x7fELF binary") == 1
    _unpack(archive, tmp_path / "guest")
    unpacked = tmp_path / "guest" / layer_archive.guest_path(layer).lstrip("/") / "bin"
    assert (unpacked / "hardlink").read_bytes() == b"\x7fELF binary"
    assert (unpacked / "hardlink").stat().st_ino == (unpacked / "tool").stat().st_ino


@needs_busybox
@needs_root
def test_whiteouts_and_owners_survive(layer, tmp_path):
    os.mknod(layer / "etc" / "gone", 0o600 | stat.S_IFCHR, os.makedev(0, 0))
    os.chown(layer / "etc" / "file", 1000, 50)
    _unpack(layer_archive.archive_bytes(layer), tmp_path / "guest")
    unpacked = tmp_path / "guest" / layer_archive.guest_path(layer).lstrip("/") / "etc"
    whiteout = os.lstat(unpacked / "gone")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == os.makedev(0, 0)
    assert ((unpacked / "file").stat().st_uid, (unpacked / "file").stat().st_gid) == (1000, 50)


def test_the_archive_is_cached_beside_the_layer_and_reused(layer):
    archive = layer_archive.layer_archive(layer)
    assert archive.parent == layer.parent and archive.name.startswith(".fs.") and archive.suffix == ".cpio"
    built = archive.stat().st_mtime_ns
    assert layer_archive.layer_archive(layer) == archive and archive.stat().st_mtime_ns == built


def test_a_layer_over_the_budget_goes_as_a_disk_and_is_walked_once(layer, monkeypatch):
    monkeypatch.setattr(layer_archive, "RAM_LAYER_BUDGET_BYTES", 4 * layer_archive.ENTRY_COST_BYTES)
    assert layer_archive.layer_archive(layer) is None
    monkeypatch.setattr(layer_archive, "archive_bytes", lambda directory: pytest.fail("walked again"))
    assert layer_archive.layer_archive(layer) is None
    assert [path.suffix for path in layer.parent.iterdir() if path != layer] == [".disk"]


@needs_root
def test_a_layer_with_extended_attributes_goes_as_a_disk(layer):
    os.setxattr(layer / "etc", "trusted.overlay.opaque", b"y")  # an opaque dir: only EROFS keeps it
    assert layer_archive.layer_archive(layer) is None


def test_a_recreated_dir_gets_a_new_archive_and_the_stale_one_goes(layer):
    stale = layer_archive.layer_archive(layer)
    shutil.rmtree(layer)
    layer.mkdir()
    fresh = layer_archive.layer_archive(layer)
    assert fresh != stale and not stale.exists()
    assert sorted(path.name for path in layer.parent.iterdir()) == sorted(["fs", fresh.name])
