"""Resolving the guest's kernel modules from modules.dep."""

from __future__ import annotations

import lzma
import struct

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


def _elf_with_sections(*sections: tuple[bytes, bytes]) -> bytes:
    """A minimal ELF64: a header, the sections' bytes, a name table, then the section headers."""
    names = b"\0" + b"".join(name + b"\0" for name, _ in sections) + b".shstrtab\0"
    body, offsets = b"", []
    for _, data in sections:
        offsets.append(64 + len(body))
        body += data
    names_offset = 64 + len(body)
    headers_offset = names_offset + len(names)
    headers = bytes(64)  # section 0 is the null section
    name_position = 1
    for (name, data), offset in zip(sections, offsets):
        headers += struct.pack("<IIQQQQIIQQ", name_position, 1, 0, 0, offset, len(data), 0, 0, 1, 0)
        name_position += len(name) + 1
    headers += struct.pack("<IIQQQQIIQQ", name_position, 3, 0, 0, names_offset, len(names), 0, 0, 1, 0)
    header = bytearray(64)
    header[:5] = b"\x7fELF\x02"
    struct.pack_into("<Q", header, 0x28, headers_offset)
    struct.pack_into("<HHH", header, 0x3A, 64, len(sections) + 2, len(sections) + 1)
    return bytes(header) + body + names + headers


def _section_sizes(elf: bytes) -> list[int]:
    (offset,) = struct.unpack_from("<Q", elf, 0x28)
    (count,) = struct.unpack_from("<H", elf, 0x3C)
    return [struct.unpack_from("<Q", elf, offset + index * 64 + 0x20)[0] for index in range(count)]


def _signed(module: bytes, signature: bytes = b"S" * 20) -> bytes:
    return module + signature + bytes(8) + struct.pack(">I", len(signature)) + b"~Module signature appended~\n"


def test_type_information_section_is_emptied_and_others_kept():
    module = _elf_with_sections((b".text", b"code"), (b".BTF", b"types" * 10))
    assert _section_sizes(kmodules.without_type_information(module)) == [0, 4, 0, len(b"\0.text\0.BTF\0.shstrtab\0")]


def test_slimmed_module_loses_its_signature():
    module = _elf_with_sections((b".text", b"code"), (b".BTF", b"types"))
    slimmed = kmodules.without_type_information(_signed(module))
    assert len(slimmed) == len(module) and not slimmed.endswith(b"appended~\n")


def test_module_without_type_information_keeps_its_bytes_but_the_signature():
    module = _elf_with_sections((b".text", b"code"))
    assert kmodules.without_type_information(_signed(module)) == module


@pytest.mark.parametrize(("config", "enforced"), [
    ("CONFIG_MODULE_SIG=y\n# CONFIG_MODULE_SIG_FORCE is not set\n", False),
    ("CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_FORCE=y\n", True),
])  # fmt: skip
def test_signature_enforcement_is_read_from_the_kernel_config(tmp_path, config, enforced):
    (tmp_path / "config-6.1").write_text(config)
    assert kmodules.signatures_enforced(tmp_path / "config-6.1") is enforced


def test_kernel_without_a_config_counts_as_enforcing_signatures(tmp_path):
    assert kmodules.signatures_enforced(tmp_path / "config-6.1")
