"""Which kernel module files the guest must load, in what order, read from ``modules.dep``.

``depmod`` writes one line per module: ``kernel/fs/fuse/virtiofs.ko: kernel/drivers/virtio/virtio.ko ...``.
We resolve each wanted module's dependencies recursively and emit every file
after all of its dependencies, so the guest can ``insmod`` them in list order
without ``modprobe`` or a copy of the module tree. Modules compiled into the
kernel (``modules.builtin``) need no file and are skipped.
"""

from __future__ import annotations

import gzip
import lzma
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

    for name in wanted:
        visit(name.replace("-", "_"))
    return order


def read_module(modules_dir: Path, relative_path: str) -> bytes:
    """The module's ELF bytes; busybox ``insmod`` cannot decompress, so we do it here."""
    data = (modules_dir / relative_path).read_bytes()
    if relative_path.endswith(".ko.xz"):
        return lzma.decompress(data)
    if relative_path.endswith(".ko.gz"):
        return gzip.decompress(data)
    if relative_path.endswith(".ko.zst"):
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data
