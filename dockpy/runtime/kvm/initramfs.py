"""The guest's base initramfs: static busybox, the kernel modules it needs, and /init.

Built once per kernel, busybox and init script, and cached as
``<root>/kvm/initramfs-<digest>.cpio`` where the digest covers every byte that
goes in: a kernel or busybox upgrade makes a new one, an unchanged host reuses
it. Uncompressed on purpose: under TCG the guest decompresses far slower than
the host reads a few MB (the modules and busybox are about 4 MB).

Layout::

    /init                       guest_init.sh
    /bin/busybox, /bin/<applet> static busybox and a symlink per applet
    /lib/modules/NN-<name>.ko   modules in load order (dependencies first)
    /dev/console                the kernel opens it for /init's stdio
    /dockpy/dev/                the container's /dev: null, zero, full, random, urandom, tty, pts/, shm/, fd links
    /dockpy/                    /dockpy/spec arrives per run (guest_spec.py)
"""

from __future__ import annotations

import hashlib
import io
import struct
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from dockpy.errors import PrerequisiteError
from dockpy.runtime.kvm import kmodules
from dockpy.runtime.kvm.cache_files import write_atomically
from dockpy.runtime.kvm.cpio import CpioWriter
from dockpy.runtime.kvm.kernel import GuestKernel

BUSYBOX_PACKAGE = "busybox-static"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")

# What /init needs: the virtio-mmio transport (microvm's devices), layer disks,
# the console ports, the layer and root filesystems, and virtiofs for the
# writable layer and volumes. Dependencies (virtio, virtio_ring, fuse, ...) follow.
GUEST_MODULES = ("virtio_mmio", "virtio_blk", "virtio_console", "erofs", "overlay", "virtiofs")
_PT_INTERP = 3
# Part of the cache key: bump it whenever build_archive lays out the archive differently.
LAYOUT_VERSION = 2
_DIRECTORIES = ("bin", "dev", "proc", "sys", "lib", "lib/modules", "newroot", "dockpy", "dockpy/init-layer", "dockpy/rw", "l")
# (name, major, minor) of the character devices a container's /dev holds, as in Docker.
CONTAINER_DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0))
CONTAINER_DEV_LINKS = (("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                       ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"))  # fmt: skip


@dataclass(frozen=True)
class InitramfsInputs:
    """Everything the initramfs is made of, read from the host."""

    busybox: bytes
    applets: tuple[str, ...]
    init_script: bytes
    modules: tuple[tuple[str, bytes], ...]

    def digest(self) -> str:
        hasher = hashlib.sha256(f"layout {LAYOUT_VERSION}\n".encode())
        for part in (self.busybox, "\n".join(self.applets).encode(), self.init_script):
            hasher.update(len(part).to_bytes(8, "little") + part)
        for name, data in self.modules:
            hasher.update(name.encode() + b"\0" + len(data).to_bytes(8, "little") + data)
        return hasher.hexdigest()


def find_busybox() -> Path:
    """A statically linked busybox: it must run in a guest that has no libc."""
    for candidate in BUSYBOX_CANDIDATES:
        path = Path(candidate)
        if path.is_file() and _is_static(path):
            return path
    raise PrerequisiteError(f"no static busybox found: install {BUSYBOX_PACKAGE}")


def _is_static(path: Path) -> bool:
    """A 64-bit ELF without a PT_INTERP program header (the loader a dynamic binary names)."""
    with path.open("rb") as file:
        header = file.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2:
            return False
        (phoff,) = struct.unpack_from("<Q", header, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", header, 0x36)
        file.seek(phoff)
        table = file.read(phentsize * phnum)
    return all(struct.unpack_from("<I", table, index * phentsize)[0] != _PT_INTERP for index in range(phnum))


def gather_inputs(kernel: GuestKernel, busybox: Path) -> InitramfsInputs:
    listing = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout
    load_order = kmodules.resolve_load_order(kernel.modules_dir, GUEST_MODULES)
    return InitramfsInputs(
        busybox=busybox.read_bytes(),
        applets=tuple(sorted(set(listing.split()) - {"busybox"})),
        init_script=resources.files(__package__).joinpath("guest_init.sh").read_bytes(),
        modules=tuple((kmodules.module_name(path), kmodules.read_module(kernel.modules_dir, path)) for path in load_order),
    )


def build_archive(inputs: InitramfsInputs) -> bytes:
    buffer = io.BytesIO()
    writer = CpioWriter(buffer)
    for directory in _DIRECTORIES:
        writer.add_directory(directory)
    writer.add_char_device("dev/console", 5, 1)
    writer.add_file("init", inputs.init_script, mode=0o755)
    writer.add_file("bin/busybox", inputs.busybox, mode=0o755)
    for applet in inputs.applets:
        writer.add_symlink(f"bin/{applet}", "busybox")
    for index, (name, data) in enumerate(inputs.modules):
        writer.add_file(f"lib/modules/{index:02d}-{name}.ko", data)
    _add_container_dev(writer)
    writer.finish()
    return buffer.getvalue()


def _add_container_dev(writer: CpioWriter) -> None:
    writer.add_directory("dockpy/dev")
    writer.add_directory("dockpy/dev/pts")
    writer.add_directory("dockpy/dev/shm", mode=0o1777)
    for name, major, minor in CONTAINER_DEVICES:
        writer.add_char_device(f"dockpy/dev/{name}", major, minor, mode=0o666)
    for name, target in CONTAINER_DEV_LINKS:
        writer.add_symlink(f"dockpy/dev/{name}", target)


def cached_initramfs(kernel: GuestKernel, cache_dir: Path) -> Path:
    """The base initramfs for ``kernel``, built on first use and reused while its inputs are unchanged."""
    inputs = gather_inputs(kernel, find_busybox())
    path = cache_dir / f"initramfs-{inputs.digest()[:32]}.cpio"
    if not path.exists():
        write_atomically(path, build_archive(inputs))
        for stale in cache_dir.glob("initramfs-*.cpio"):  # made from a kernel or busybox that was replaced
            if stale != path:
                stale.unlink(missing_ok=True)
    return path
