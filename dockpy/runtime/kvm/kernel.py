"""Finding the guest kernel, and unpacking it to an ELF ``vmlinux`` that QEMU boots through PVH.

The kernel is Debian's ``linux-image-cloud-amd64`` (``/boot/vmlinuz-*-cloud-amd64``,
the newest one), or whatever bzImage ``$DOCKPY_KERNEL`` names. Its modules are
read from ``/lib/modules/<release>``, where the release is read from the
bzImage's own header (so a renamed file still finds its modules).

Why unpack: a bzImage boots through QEMU's ``linuxboot`` option ROM and then
decompresses itself in the guest, which under TCG emulation costs ~0.1-0.3 s
per boot. The Debian kernels are built with ``CONFIG_PVH=y``: the ELF inside
carries a ``XEN_ELFNOTE_PHYS32_ENTRY`` note, and QEMU loads such an ELF
directly and enters it in 32-bit protected mode. We unpack once per kernel
(the payload offset and length are in the bzImage setup header; Debian's cloud
kernel is LZ4-compressed, which needs the ``lz4`` program) and cache the result
under ``<root>/kvm/``. When the payload cannot be unpacked or the ELF has no PVH
note, the bzImage is booted as it is.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import zlib
from collections import namedtuple
from pathlib import Path

from dockpy.errors import PrerequisiteError
from dockpy.runtime.kvm.cache_files import cache_key, write_atomically

KERNEL_ENV = "DOCKPY_KERNEL"
KERNEL_PACKAGE = "linux-image-cloud-amd64"
BOOT_DIR = Path("/boot")
MODULES_ROOT = Path("/lib/modules")

# x86 boot protocol (Documentation/arch/x86/boot.rst): offsets into the bzImage.
_SETUP_SECTS = 0x1F1
_HEADER_MAGIC_OFFSET, _HEADER_MAGIC = 0x202, b"HdrS"
_KERNEL_VERSION_POINTER = 0x20E
_PAYLOAD_OFFSET = 0x248
_PAYLOAD_LENGTH = 0x24C
_XEN_ELFNOTE_PHYS32_ENTRY = 18


class GuestKernel(namedtuple("GuestKernel", "image release modules_dir")):
    """A bootable kernel (``image``, a Path), its ``release`` and the directory its modules live in (a Path).

    A namedtuple, as the records in ``qemu.py``.
    """

    __slots__ = ()

    @property
    def config(self) -> Path:
        """The build configuration Debian installs beside the kernel (``config-<release>``)."""
        return self.image.parent / f"config-{self.release}"

    @property
    def identity(self) -> str:
        """Changes whenever the kernel file is replaced (a package upgrade rewrites it)."""
        info = self.image.stat()
        return f"{self.image}:{info.st_size}:{info.st_mtime_ns}"


def find_kernel(environ=os.environ) -> GuestKernel:
    """``$DOCKPY_KERNEL`` if set, else the newest Debian cloud kernel in /boot."""
    configured = environ.get(KERNEL_ENV)
    if configured:
        image = Path(configured)
        if not image.is_file():
            raise PrerequisiteError(f"{KERNEL_ENV}={configured}: no such kernel file")
    else:
        image = _newest_cloud_kernel()
    release = kernel_release(image)
    modules_dir = MODULES_ROOT / release
    if not (modules_dir / "modules.dep").is_file():
        raise PrerequisiteError(
            f"no modules for guest kernel {release} in {modules_dir}: install {KERNEL_PACKAGE} (or point {KERNEL_ENV} at a kernel whose modules are installed)"
        )
    return GuestKernel(image, release, modules_dir)


def _newest_cloud_kernel() -> Path:
    candidates = sorted(BOOT_DIR.glob("vmlinuz-*-cloud-amd64"), key=_version_key)
    if not candidates:
        raise PrerequisiteError(f"no guest kernel found in {BOOT_DIR}: install {KERNEL_PACKAGE} or set {KERNEL_ENV}")
    return candidates[-1]


def _version_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def kernel_release(image: Path) -> str:
    """The release string (``6.1.0-56-cloud-amd64``) recorded in a bzImage's setup header."""
    header = image.open("rb").read(0x10000)
    if header[_HEADER_MAGIC_OFFSET : _HEADER_MAGIC_OFFSET + 4] != _HEADER_MAGIC:
        raise PrerequisiteError(f"{image} is not a Linux bzImage kernel")
    (pointer,) = struct.unpack_from("<H", header, _KERNEL_VERSION_POINTER)
    version = header[pointer + 0x200 :].split(b"\0", 1)[0].decode(errors="replace")
    return version.split(" ", 1)[0]


def boot_image(kernel: GuestKernel, cache_dir: Path) -> Path:
    """The file QEMU should boot: a cached PVH ``vmlinux`` when one can be unpacked, else the bzImage."""
    key = cache_key(kernel.identity)[:16]
    cached = cache_dir / f"vmlinux-{kernel.release}-{key}"
    unbootable = cache_dir / f"vmlinux-{kernel.release}-{key}.none"
    if cached.exists():
        return cached
    if unbootable.exists():
        return kernel.image
    vmlinux = unpack_vmlinux(kernel.image.read_bytes())
    if vmlinux is None or not has_pvh_entry(vmlinux):
        write_atomically(unbootable, b"")  # remembers not to try again for this kernel
        return kernel.image
    write_atomically(cached, vmlinux)
    return cached


def unpack_vmlinux(bzimage: bytes) -> bytes | None:
    """The ELF kernel inside a bzImage, or None when its compression is not one we can undo."""
    setup_sectors = bzimage[_SETUP_SECTS] or 4
    offset, length = struct.unpack_from("<II", bzimage, _PAYLOAD_OFFSET)
    start = (setup_sectors + 1) * 512 + offset
    payload = bzimage[start : start + length]
    import lzma  # only when the kernel is unpacked, once per kernel

    try:
        elf = _decompress(payload)
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error, subprocess.SubprocessError):
        return None
    return elf if elf and elf.startswith(b"\x7fELF") else None


def _decompress(payload: bytes) -> bytes | None:
    if payload.startswith(b"\x1f\x8b"):
        return zlib.decompressobj(wbits=31).decompress(payload)
    if payload.startswith(b"\xfd7zXZ\x00") or payload.startswith(b"\x5d\x00\x00"):
        import lzma

        return lzma.LZMADecompressor().decompress(payload)
    if payload.startswith(b"\x02\x21\x4c\x18"):  # LZ4 legacy frame, as the kernel's build writes it
        return _run_decompressor(["lz4", "-dc"], payload)
    if payload.startswith(b"\x28\xb5\x2f\xfd"):
        return _run_decompressor(["zstd", "-dcq"], payload)
    return None


def _run_decompressor(argv: list[str], payload: bytes) -> bytes:
    # The payload is followed by the decompressed size (4 bytes): the tools may
    # complain about that trailer after writing the whole ELF, so the exit
    # status is not trusted; the ELF check after this is.
    completed = subprocess.run(argv, input=payload, capture_output=True, timeout=60)
    return completed.stdout


def has_pvh_entry(elf: bytes) -> bool:
    """Whether a 64-bit ELF kernel carries the Xen PVH entry note QEMU needs to boot it directly."""
    if elf[4] != 2:  # ELFCLASS64
        return False
    (phoff,) = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for index in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", elf, phoff + index * phentsize)
        if p_type == 4 and _notes_include_pvh(elf[p_offset : p_offset + p_filesz]):  # PT_NOTE
            return True
    return False


def _notes_include_pvh(notes: bytes) -> bool:
    position = 0
    while position + 12 <= len(notes):
        namesz, descsz, note_type = struct.unpack_from("<III", notes, position)
        name = notes[position + 12 : position + 12 + namesz].rstrip(b"\0")
        if name == b"Xen" and note_type == _XEN_ELFNOTE_PHYS32_ENTRY:
            return True
        position += 12 + _align4(namesz) + _align4(descsz)
    return False


def _align4(value: int) -> int:
    return (value + 3) & ~3
