"""Which kernel module files the guest must load, in what order, read from ``modules.dep``.

``depmod`` writes one line per module: ``kernel/fs/fuse/virtiofs.ko: kernel/drivers/virtio/virtio.ko ...``.
We resolve each wanted module's dependencies recursively and emit every file
after all of its dependencies, so the guest can ``insmod`` them in list order
without ``modprobe`` or a copy of the module tree. Modules compiled into the
kernel (``modules.builtin``) need no file and are skipped.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from dockpy.errors import ContainerSetupError

_COMPRESSED_SUFFIXES = (".ko.xz", ".ko.gz", ".ko.zst")


def module_name(relative_path: str) -> str:
    """``kernel/fs/fuse/virtiofs.ko.xz`` -> ``virtiofs``; dashes and underscores are the same to the kernel."""
    base = relative_path.rsplit("/", 1)[-1]
    for suffix in (*_COMPRESSED_SUFFIXES, ".ko"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


def read_dependencies(modules_dir: Path) -> dict[str, tuple[str, list[str]]]:
    """``name -> (relative file, [relative files it depends on])`` from ``modules.dep``."""
    table = {}
    try:
        lines = (modules_dir / "modules.dep").read_text().splitlines()
    except OSError as error:
        raise ContainerSetupError(f"cannot read kernel module index: {error}") from None
    for line in lines:
        path, _, deps = line.partition(":")
        if path:
            table[module_name(path)] = (path, deps.split())
    return table


def builtin_modules(modules_dir: Path) -> set[str]:
    try:
        return {module_name(line) for line in (modules_dir / "modules.builtin").read_text().split()}
    except FileNotFoundError:
        return set()


def resolve_load_order(modules_dir: Path, wanted: Iterable[str]) -> list[str]:
    """Relative paths of ``wanted`` modules and their dependencies, each after its dependencies."""
    return resolve_load_groups(modules_dir, wanted)[0]


def resolve_load_groups(modules_dir: Path, *groups: Iterable[str]) -> list[list[str]]:
    """Per group, what ``resolve_load_order`` gives minus what an earlier group loads already.

    Loading the groups in order loads every module after its dependencies, and
    a guest may stop after any group (the later ones hold what only some runs need).
    """
    table = read_dependencies(modules_dir)
    builtin = builtin_modules(modules_dir)
    order: list[str] = []

    def visit(name: str) -> None:
        if name in builtin or any(module_name(path) == name for path in order):
            return
        if name not in table:
            raise ContainerSetupError(f"kernel module {name} not found in {modules_dir}/modules.dep")
        path, deps = table[name]
        for dependency in deps:
            visit(module_name(dependency))
        order.append(path)

    loads = []
    for group in groups:
        start = len(order)
        for name in group:
            visit(name.replace("-", "_"))
        loads.append(order[start:])
    return loads


def read_module(modules_dir: Path, relative_path: str) -> bytes:
    """The module's ELF bytes; busybox ``insmod`` cannot decompress, so we do it here."""
    data = (modules_dir / relative_path).read_bytes()
    if relative_path.endswith(".ko.xz"):
        import lzma  # Debian's modules are not compressed: most hosts never need these

        return lzma.decompress(data)
    if relative_path.endswith(".ko.gz"):
        import gzip

        return gzip.decompress(data)
    if relative_path.endswith(".ko.zst"):
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


def signatures_enforced(kernel_config: Path) -> bool:
    """Whether the kernel refuses unsigned modules; an unknown config counts as yes (keep them signed)."""
    try:
        return "CONFIG_MODULE_SIG_FORCE=y" in kernel_config.read_text().splitlines()
    except OSError:
        return True


# Sections the kernel processes at every module load for features the guest never uses:
# BTF, the type information for BPF (parsed and checked at load: under TCG ~40% of
# the load time of erofs, overlay and fuse); the ORC unwind tables, which only
# make stack traces through the module exact (oopses, perf, livepatch) but cost
# one relocation per entry (about half of a module's relocations) and a sort;
# the symbol versions (CRCs), looked up by a linear scan for every symbol the
# module imports (quadratic in its imports), to catch a module built for
# another kernel. Load time grows with what remains, as the local symbols
# (names of static functions) that objcopy's --strip-unneeded drops also do.
# Two lists of call sites the kernel rewrites at load, where the call as built
# is already correct: the static call sites (each calls its key's trampoline,
# which the kernel keeps pointing at the current target; rewriting only saves
# a jump per call, and finding each site's key took a third of the load time
# of overlay, fuse and erofs under TCG), and the ftrace sites (each function's
# "call __fentry__", a plain return until someone traces the function, which
# without the list no one can in these modules).
# Kept: the lists that select CPU-specific code (alternatives, return thunks,
# retpolines, jump labels), which a guest under KVM needs rewritten.
UNUSED_SECTIONS = (".BTF", ".orc_unwind", ".orc_unwind_ip", "__versions", ".static_call_sites", "__mcount_loc")


def without_unused_sections(module: bytes) -> bytes:
    """``module`` without ``UNUSED_SECTIONS``, local symbols and its signature: the guest loads it faster.

    binutils' objcopy writes the module again without those sections (and
    their relocations) and symbols; the signature appended after the ELF data
    goes with the rewrite (it would no longer match anyway), and a kernel that
    does not force signatures loads the module all the same (marking itself
    tainted, which no one reads). What the guest gives up: exact stack
    traces and function names for frames in these modules (the unwinder
    guesses without ORC data), and the symbol CRC check, which a kernel
    built with ``CONFIG_MODULE_FORCE_LOAD`` (Debian's) skips for a module
    without versions; the modules come from the kernel's own
    ``/lib/modules/<release>`` and the kernel still checks their vermagic.
    """
    import tempfile  # only when an initramfs is built

    with tempfile.TemporaryDirectory(prefix="dockpy-module-") as scratch:
        original, slimmed = os.path.join(scratch, "original.ko"), os.path.join(scratch, "slimmed.ko")
        with open(original, "wb") as file:
            file.write(module)
        try:
            subprocess.run(["objcopy", "--strip-unneeded", *(f"--remove-section={name}" for name in UNUSED_SECTIONS), original, slimmed],
                           check=True, capture_output=True)
        except FileNotFoundError as error:
            raise ContainerSetupError("objcopy is not installed", hint="apt-get install binutils") from error
        except subprocess.CalledProcessError as error:
            raise ContainerSetupError(f"objcopy could not rewrite a kernel module: {error.stderr.decode().strip()}")
        with open(slimmed, "rb") as file:
            return file.read()
