"""Small image layers as cpio archives that the guest kernel unpacks with its initramfs.

A layer that travels this way needs no disk in the guest: no virtio_blk and
erofs modules to load (with their device probe and partition scan), no
disk to wait for, no EROFS mount. Under TCG that is ~0.1 s of every boot,
more than the kernel spends unpacking a few MB into its RAM-backed root.
What it costs: the kernel copies every file into its RAM-backed root
before /init starts, ~8 ms per MB and ~0.15 ms per file under TCG, where a
disk's files are read only when used; and the layer's bytes stay in the
guest's RAM for the life of the VM, which is that much smaller for the
container. So only layers within ``RAM_LAYER_BUDGET_BYTES`` go this way.

The archive keeps what a layer means to overlay: owners, modes, device
nodes (so whiteouts, 0/0 character devices), symlinks, hard links and
mtimes, the latter in whole seconds (newc's only precision; a file the
container copies up, by a chmod for instance, keeps that mtime). It cannot
carry extended attributes, so a layer with any (an opaque dir's
``trusted.overlay.opaque``, a file capability, an ACL) goes as an EROFS
disk, which keeps them; so does a layer with a path too long for the
kernel's unpacker.

Entries live under ``dockpy/ram/<identity>/`` in the guest, so an archive
is the same wherever the layer sits in an image's stack; it is built once
and cached beside the layer dir as ``.<name>.<identity>.cpio`` (see
``cache_files``). A layer found unfit gets an empty ``.<name>.<identity>.disk``
marker instead, so it is walked only once.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

from dockpy.runtime.kvm.cache_files import beside_layer, layer_identity, remove_stale_beside_layer, write_atomically
from dockpy.runtime.kvm.cpio import CpioWriter

# Where the guest finds the layers it unpacked (a directory of the base initramfs).
GUEST_DIRECTORY = "dockpy/ram"
# A layer goes as an archive if its file bytes plus ENTRY_COST_BYTES per entry stay within this: unpacking
# it then costs the guest less than a disk does (~0.1 s under TCG; measured in docs/kvm.md).
RAM_LAYER_BUDGET_BYTES = 8 << 20
# Under TCG the kernel takes about as long to create one file as to copy this many bytes.
ENTRY_COST_BYTES = 16 << 10
# The kernel's unpacker refuses names of PATH_MAX (4096) bytes or more.
_MAX_NAME_BYTES = 4000


class _Unfit(Exception):
    """The layer cannot travel as an archive (too big, extended attributes, a name too long)."""


def guest_path(layer_dir: Path) -> str:
    """Where the guest finds ``layer_dir``'s files once its archive is unpacked."""
    return f"/{GUEST_DIRECTORY}/{layer_identity(layer_dir)}"


def layer_archive(layer_dir: Path) -> Path | None:
    """The cached archive of ``layer_dir``, made now if need be; None if the layer must go as a disk."""
    archive, marker = beside_layer(layer_dir, "cpio"), beside_layer(layer_dir, "disk")
    if archive.exists():
        return archive
    if marker.exists():
        return None
    try:
        data = archive_bytes(layer_dir)
    except _Unfit:
        write_atomically(marker, b"")
        remove_stale_beside_layer(layer_dir, "disk", keep=marker)
        return None
    write_atomically(archive, data)
    remove_stale_beside_layer(layer_dir, "cpio", keep=archive)
    return archive


def archive_bytes(layer_dir: Path) -> bytes:
    """The newc archive of ``layer_dir`` under its guest path; raises _Unfit."""
    buffer = io.BytesIO()
    writer = CpioWriter(buffer)
    root = os.fsencode(layer_dir)
    prefix = guest_path(layer_dir).lstrip("/").encode()
    inodes = _ArchiveInodes()
    budget = RAM_LAYER_BUDGET_BYTES
    for relative, info in _entries(root):
        inode, first = inodes.number(info)
        budget -= ENTRY_COST_BYTES + (info.st_size if first and stat.S_ISREG(info.st_mode) else 0)
        if budget < 0:
            raise _Unfit("too big")
        data = _content(os.path.join(root, relative), info) if first else b""
        writer.add_copy(os.path.join(prefix, relative) if relative else prefix, info, data, inode)
    writer.finish()
    return buffer.getvalue()


class _ArchiveInodes:
    """Inode numbers for the archive: shared by the hard links of a regular file (the kernel links
    them; the content goes with the first), one of its own for every other entry."""

    def __init__(self):
        self._files: dict[tuple[int, int], int] = {}
        self._count = 0

    def number(self, info: os.stat_result) -> tuple[int, bool]:
        """(inode number, whether this is the entry that carries the content)."""
        key = (info.st_dev, info.st_ino)
        if stat.S_ISREG(info.st_mode) and key in self._files:
            return self._files[key], False
        self._count += 1
        if stat.S_ISREG(info.st_mode):
            self._files[key] = self._count
        return self._count, True


def _entries(root: bytes):
    """(path relative to ``root``, lstat) of ``root`` and everything under it, parents first, sorted."""
    pending = [b""]
    while pending:
        relative = pending.pop()
        path = os.path.join(root, relative) if relative else root
        info = os.lstat(path)
        if len(relative) > _MAX_NAME_BYTES or _has_extended_attributes(path):
            raise _Unfit(relative)
        yield relative, info
        if stat.S_ISDIR(info.st_mode):
            pending += [os.path.join(relative, name) if relative else name for name in sorted(os.listdir(path), reverse=True)]


def _has_extended_attributes(path: bytes) -> bool:
    try:
        return bool(os.listxattr(path, follow_symlinks=False))
    except OSError:  # a filesystem without xattrs has none
        return False


def _content(path: bytes, info: os.stat_result) -> bytes:
    if stat.S_ISREG(info.st_mode):
        with open(path, "rb") as file:
            return file.read()
    if stat.S_ISLNK(info.st_mode):
        return os.readlink(path)
    return b""
