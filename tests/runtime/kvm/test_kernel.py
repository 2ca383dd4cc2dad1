"""Finding the guest kernel and unpacking its PVH vmlinux."""

from __future__ import annotations

import gzip
import struct

import pytest

from dockpy.errors import PrerequisiteError
from dockpy.runtime.kvm import kernel


def _fake_bzimage(release: str, payload: bytes) -> bytes:
    """A bzImage-shaped file: setup header with version string, payload offset/length."""
    setup_sectors = 4
    image = bytearray((setup_sectors + 1) * 512)
    image[0x1F1] = setup_sectors
    image[0x202:0x206] = b"HdrS"
    version_offset = 0x400
    struct.pack_into("<H", image, 0x20E, version_offset - 0x200)
    image[version_offset : version_offset + len(release) + 20] = (release + " (builder@host) #1").encode().ljust(len(release) + 20, b"\0")
    struct.pack_into("<II", image, 0x248, 0, len(payload))
    return bytes(image) + payload


def _elf_with_notes(notes: bytes) -> bytes:
    header = bytearray(64)
    header[:5] = b"\x7fELF\x02"
    struct.pack_into("<Q", header, 0x20, 64)
    struct.pack_into("<HH", header, 0x36, 56, 1)
    program_header = struct.pack("<IIQQQQQQ", 4, 0, 120, 0, 0, len(notes), len(notes), 4)
    return bytes(header) + program_header + notes


def _note(name: bytes, note_type: int, desc: bytes) -> bytes:
    padded = name + b"\0" * (-len(name) % 4)
    return struct.pack("<III", len(name), len(desc), note_type) + padded + desc + b"\0" * (-len(desc) % 4)


def test_release_is_read_from_the_bzimage_header(tmp_path):
    image = tmp_path / "renamed-kernel"
    image.write_bytes(_fake_bzimage("6.1.0-99-cloud-amd64", b""))
    assert kernel.kernel_release(image) == "6.1.0-99-cloud-amd64"


def test_a_file_that_is_not_a_kernel_is_refused(tmp_path):
    (tmp_path / "junk").write_bytes(b"\0" * 4096)
    with pytest.raises(PrerequisiteError, match="not a Linux bzImage"):
        kernel.kernel_release(tmp_path / "junk")


def test_missing_kernel_names_the_package_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel, "BOOT_DIR", tmp_path)
    with pytest.raises(PrerequisiteError, match="install linux-image-cloud-amd64 or set DOCKPY_KERNEL"):
        kernel.find_kernel(environ={})


def test_dockpy_kernel_naming_no_file_is_an_error(tmp_path):
    with pytest.raises(PrerequisiteError, match="DOCKPY_KERNEL=.*no such kernel file"):
        kernel.find_kernel(environ={"DOCKPY_KERNEL": str(tmp_path / "absent")})


def test_kernel_without_installed_modules_is_an_error(tmp_path, monkeypatch):
    image = tmp_path / "vmlinuz"
    image.write_bytes(_fake_bzimage("0.0.0-nowhere", b""))
    monkeypatch.setattr(kernel, "MODULES_ROOT", tmp_path / "modules")
    with pytest.raises(PrerequisiteError, match="no modules for guest kernel 0.0.0-nowhere"):
        kernel.find_kernel(environ={"DOCKPY_KERNEL": str(image)})


def test_gzip_payload_unpacks_to_the_elf_inside():
    elf = _elf_with_notes(_note(b"Xen", 18, b"\0" * 4))
    assert kernel.unpack_vmlinux(_fake_bzimage("1.0", gzip.compress(elf))) == elf


def test_unknown_compression_unpacks_to_nothing():
    assert kernel.unpack_vmlinux(_fake_bzimage("1.0", b"\x42unknown compression")) is None


def test_pvh_entry_note_is_recognised():
    assert kernel.has_pvh_entry(_elf_with_notes(_note(b"GNU", 3, b"1234") + _note(b"Xen", 18, b"\0" * 4)))
    assert not kernel.has_pvh_entry(_elf_with_notes(_note(b"Xen", 6, b"linux\0")))


def test_boot_image_falls_back_to_the_bzimage_and_remembers(tmp_path):
    image = tmp_path / "vmlinuz"
    image.write_bytes(_fake_bzimage("1.0", gzip.compress(_elf_with_notes(b""))))
    guest = kernel.GuestKernel(image, "1.0", tmp_path)
    assert kernel.boot_image(guest, tmp_path / "cache") == image
    assert list((tmp_path / "cache").glob("*.none"))


def test_boot_image_caches_the_unpacked_pvh_vmlinux(tmp_path):
    elf = _elf_with_notes(_note(b"Xen", 18, b"\0" * 4))
    image = tmp_path / "vmlinuz"
    image.write_bytes(_fake_bzimage("1.0", gzip.compress(elf)))
    guest = kernel.GuestKernel(image, "1.0", tmp_path)
    first = kernel.boot_image(guest, tmp_path / "cache")
    assert first.read_bytes() == elf
    assert kernel.boot_image(guest, tmp_path / "cache") == first
