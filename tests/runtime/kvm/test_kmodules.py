"""Resolving the guest's kernel modules from modules.dep."""

from __future__ import annotations

import lzma

import pytest

from dockpy.errors import ContainerSetupError
from dockpy.runtime.kvm import kmodules


@pytest.fixture
def modules_dir(tmp_path):
    (tmp_path / "modules.dep").write_text(
        "kernel/fs/fuse/virtiofs.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko kernel/fs/fuse/fuse.ko\n"
        "kernel/fs/fuse/fuse.ko:\n"
        "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
        "kernel/drivers/virtio/virtio_ring.ko:\n"
        "kernel/drivers/char/virtio-console.ko.xz: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
    )
    (tmp_path / "modules.builtin").write_text("kernel/fs/overlayfs/overlay.ko\n")
    return tmp_path


def test_dependencies_come_before_the_modules_needing_them(modules_dir):
    order = [kmodules.module_name(path) for path in kmodules.resolve_load_order(modules_dir, ["virtiofs"])]
    assert order.index("virtio_ring") < order.index("virtio") < order.index("virtiofs")
    assert order.index("fuse") < order.index("virtiofs")


def test_each_module_is_listed_once(modules_dir):
    order = kmodules.resolve_load_order(modules_dir, ["virtiofs", "virtio_console"])
    assert len(order) == len(set(order)) == 5


def test_dashes_and_underscores_name_the_same_module(modules_dir):
    assert kmodules.resolve_load_order(modules_dir, ["virtio-console"])[-1] == "kernel/drivers/char/virtio-console.ko.xz"


def test_builtin_modules_need_no_file(modules_dir):
    assert kmodules.resolve_load_order(modules_dir, ["overlay"]) == []


def test_unknown_module_is_an_error_naming_it(modules_dir):
    with pytest.raises(ContainerSetupError, match="erofs"):
        kmodules.resolve_load_order(modules_dir, ["erofs"])


def test_compressed_modules_are_decompressed(modules_dir):
    path = modules_dir / "kernel/drivers/char/virtio-console.ko.xz"
    path.parent.mkdir(parents=True)
    path.write_bytes(lzma.compress(b"\x7fELF module"))
    assert kmodules.read_module(modules_dir, "kernel/drivers/char/virtio-console.ko.xz") == b"\x7fELF module"
