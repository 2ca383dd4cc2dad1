"""The guest's base initramfs: static busybox, the kernel modules it needs, and /init.

Built once per kernel, busybox and init script, and cached as
``<root>/kvm/initramfs-<digest>.cpio`` where the digest covers every byte it
is made from (busybox, the modules as the kernel package has them, /init, the
layout): a kernel or busybox upgrade makes a new one, an unchanged host reuses
it. Finding it again stats the input files (``inputs_fingerprint``): only
when one changed are those few MB read and hashed; no process is started;
the applet list and the slimmed modules are made only when it is built.
Uncompressed on purpose: under TCG the guest decompresses far slower than
the host reads a few MB (the modules and busybox are about 4 MB).

Layout::

    /init                       guest_init.sh
    /bin/busybox, /bin/<applet> static busybox and a symlink per applet
    /lib/modules/<release>/     the modules /init loads, as <name>.ko, stripped of what the guest
                                does not use (``kmodules.without_unused_sections``), a
                                ``modules.dep`` listing them in load order (dependencies first)
                                for busybox ``modprobe -a``: one process loads them all, and
                                ``modules.boot``, ``modules.disks`` and ``modules.shares``: the
                                names of those every boot loads, of those only a boot with EROFS
                                layer disks loads, and of those only a boot with virtiofs shares loads
    /dev/console                the kernel opens it for /init's stdio
    /dockpy/dev/                the container's /dev: null, zero, full, random, urandom, tty, pts/, shm/, fd links
    /l/0 ... /l/21              the layer disks' mount points
    /dockpy/ram/                the layers that come as archives unpack here (``layer_archive.py``)
    /dockpy/init-layer/         the overlay's top lower layer: proc, sys, dev, etc (see guest_init.sh)
    /dockpy/                    /dockpy/spec arrives per run (guest_spec.py)
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
from collections import namedtuple
from pathlib import Path

from dockpy.errors import PrerequisiteError
from dockpy.runtime.kvm import kmodules
from dockpy.runtime.kvm.cache_files import write_atomically
from dockpy.runtime.kvm.cpio import CpioWriter
from dockpy.runtime.kvm.kernel import GuestKernel
from dockpy.runtime.kvm.qemu import MAX_LAYER_DISKS

# Beside this module (read as a file: importlib.resources would cost every run ~7 ms of imports).
INIT_SCRIPT = Path(__file__).with_name("guest_init.sh")
BUSYBOX_PACKAGE = "busybox-static"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")

# What every /init needs: the virtio-mmio transport (microvm's devices), the
# console ports, the root filesystem. Dependencies (virtio, virtio_ring, ...) follow.
BOOT_MODULES = ("virtio_mmio", "virtio_console", "overlay")
# Only for layers that come as EROFS disks: small layers come in the initrd
# (``layer_archive.py``), and a boot with only those does without the disk
# driver, its device probe and partition scan, and the filesystem.
DISK_MODULES = ("virtio_blk", "erofs")
# Only for virtiofs shares (the container's writable dir, -v volumes): with its
# dependency fuse, one of the largest modules, so a --read-only root without
# volumes boots without them.
SHARE_MODULES = ("virtiofs",)
_PT_INTERP = 3
# Part of the cache key: bump it whenever build_archive lays out the archive, or slims modules, differently.
LAYOUT_VERSION = 9
# Which archive the input files last made (see ``cached_initramfs``).
FINGERPRINT_FILE = "initramfs-inputs.json"
_DIRECTORIES = ("bin", "dev", "proc", "sys", "lib", "lib/modules", "newroot", "dockpy", "dockpy/rw", "dockpy/ram", "l",
                "dockpy/init-layer", "dockpy/init-layer/proc", "dockpy/init-layer/sys", "dockpy/init-layer/dev",
                "dockpy/init-layer/etc",
                # the layers' mount points, /l/<index>: made here, /init need not start a mkdir
                *(f"l/{index}" for index in range(MAX_LAYER_DISKS)))  # fmt: skip
# (name, major, minor) of the character devices a container's /dev holds, as in Docker.
CONTAINER_DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0))
CONTAINER_DEV_LINKS = (("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                       ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"))  # fmt: skip


class InitramfsInputs(namedtuple("InitramfsInputs", "busybox_path busybox init_script kernel_release modules disk_modules share_modules slim_modules")):
    """Everything the initramfs is made of, read from the host.

    ``busybox_path`` (Path) and its bytes ``busybox``; ``init_script`` (bytes);
    ``kernel_release`` (str); ``modules``: ``(name, ELF bytes as the kernel
    package has them)`` in load order; ``disk_modules``: the same, loaded
    after ``modules`` and only for EROFS layer disks; ``share_modules``: the
    same, loaded last and only for virtiofs shares; ``slim_modules`` (bool):
    the guest gets them without the sections it does not use
    (``kmodules.without_unused_sections``).

    What is derived from these (the applet list, slimmed modules) is derived
    only when the archive is built, so checking the cache costs no process.
    """

    __slots__ = ()

    def digest(self) -> str:
        import hashlib  # only when the cached archive's inputs changed: a run finds it by fingerprint

        hasher = hashlib.sha256(f"layout {LAYOUT_VERSION}\nkernel {self.kernel_release}\n"
                                f"slim {self.slim_modules}\n".encode())
        for part in (self.busybox, self.init_script):
            hasher.update(len(part).to_bytes(8, "little") + part)
        for group in (self.modules, self.disk_modules, self.share_modules):
            hasher.update(len(group).to_bytes(8, "little"))
            for name, data in group:
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
    boot, disks, shares = kmodules.resolve_load_groups(kernel.modules_dir, BOOT_MODULES, DISK_MODULES, SHARE_MODULES)
    return InitramfsInputs(
        busybox_path=busybox,
        busybox=busybox.read_bytes(),
        init_script=INIT_SCRIPT.read_bytes(),
        kernel_release=kernel.release,
        modules=_read_modules(kernel, boot),
        disk_modules=_read_modules(kernel, disks),
        share_modules=_read_modules(kernel, shares),
        slim_modules=not kmodules.signatures_enforced(kernel.config),
    )


def _read_modules(kernel: GuestKernel, paths: list[str]) -> tuple[tuple[str, bytes], ...]:
    """(name, bytes) of the modules at ``paths`` (relative to the module tree), in that order."""
    return tuple((kmodules.module_name(path), kmodules.read_module(kernel.modules_dir, path)) for path in paths)


def busybox_applets(busybox: Path) -> tuple[str, ...]:
    listing = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout
    return tuple(sorted(set(listing.split()) - {"busybox"}))


def build_archive(inputs: InitramfsInputs) -> bytes:
    buffer = io.BytesIO()
    writer = CpioWriter(buffer)
    for directory in _DIRECTORIES:
        writer.add_directory(directory)
    writer.add_char_device("dev/console", 5, 1)
    writer.add_file("init", inputs.init_script, mode=0o755)
    writer.add_file("bin/busybox", inputs.busybox, mode=0o755)
    for applet in busybox_applets(inputs.busybox_path):
        writer.add_symlink(f"bin/{applet}", "busybox")
    _add_modules(writer, inputs)
    _add_container_dev(writer)
    writer.finish()
    return buffer.getvalue()


def _add_modules(writer: CpioWriter, inputs: InitramfsInputs) -> None:
    directory = f"lib/modules/{inputs.kernel_release}"
    writer.add_directory(directory)
    everything = inputs.modules + inputs.disk_modules + inputs.share_modules
    for name, data in everything:
        writer.add_file(f"{directory}/{name}.ko", kmodules.without_unused_sections(data) if inputs.slim_modules else data)
    # Each line names its module only: the list is already in load order, so no module needs another loaded for it.
    writer.add_file(f"{directory}/modules.dep", "".join(f"{name}.ko:\n" for name, _ in everything).encode())
    for group, modules in (("boot", inputs.modules), ("disks", inputs.disk_modules), ("shares", inputs.share_modules)):
        writer.add_file(f"{directory}/modules.{group}", "".join(f"{name}\n" for name, _ in modules).encode())


def _add_container_dev(writer: CpioWriter) -> None:
    writer.add_directory("dockpy/dev")
    writer.add_directory("dockpy/dev/pts")
    writer.add_directory("dockpy/dev/shm", mode=0o1777)
    for name, major, minor in CONTAINER_DEVICES:
        writer.add_char_device(f"dockpy/dev/{name}", major, minor, mode=0o666)
    for name, target in CONTAINER_DEV_LINKS:
        writer.add_symlink(f"dockpy/dev/{name}", target)


def cached_initramfs(kernel: GuestKernel, cache_dir: Path) -> Path:
    """The base initramfs for ``kernel``, built on first use and reused while its inputs are unchanged.

    Every run asks. The files' fingerprint (``inputs_fingerprint``) answers
    in well under a millisecond; only when it changed are the inputs read and
    hashed (~10 ms) to find, or build, the archive of that content.
    """
    busybox = find_busybox()
    fingerprint = inputs_fingerprint(kernel, busybox)
    known = _archive_for_fingerprint(cache_dir, fingerprint)
    if known is not None:
        return known
    inputs = gather_inputs(kernel, busybox)
    path = cache_dir / f"initramfs-{inputs.digest()[:32]}.cpio"
    if not path.exists():
        write_atomically(path, build_archive(inputs))
        for stale in cache_dir.glob("initramfs-*.cpio"):  # made from a kernel or busybox that was replaced
            if stale != path:
                stale.unlink(missing_ok=True)
    write_atomically(cache_dir / FINGERPRINT_FILE, json.dumps({"fingerprint": fingerprint, "archive": path.name}).encode())
    return path


def inputs_fingerprint(kernel: GuestKernel, busybox: Path) -> str:
    """Name, size, mtime and inode of the files the inputs come from, with the layout and the modules wanted.

    A package upgrade rewrites them: busybox, /init's script, the kernel, and
    ``modules.dep``, which ``depmod`` writes again whenever the kernel's
    package (or any module package) installs modules.
    """
    files = [busybox, INIT_SCRIPT, kernel.image, kernel.config, kernel.modules_dir / "modules.dep",
             kernel.modules_dir / "modules.builtin"]
    parts = [f"layout {LAYOUT_VERSION}", f"kernel {kernel.release}", f"modules {BOOT_MODULES} {DISK_MODULES} {SHARE_MODULES}"]
    for path in files:
        try:
            info = path.stat()
        except FileNotFoundError:
            parts.append(f"{path} missing")
        else:
            parts.append(f"{path} {info.st_size} {info.st_mtime_ns} {info.st_ino}")
    return "\n".join(parts)


def _archive_for_fingerprint(cache_dir: Path, fingerprint: str) -> Path | None:
    """The archive last found for these files, if it is still there."""
    try:
        known = json.loads((cache_dir / FINGERPRINT_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(known, dict) or known.get("fingerprint") != fingerprint:
        return None
    path = cache_dir / str(known.get("archive"))
    return path if path.name.startswith("initramfs-") and path.is_file() else None
