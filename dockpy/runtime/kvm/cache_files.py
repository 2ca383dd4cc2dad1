"""Writing the kvm backend's cached files (images, vmlinux, initramfs, verdicts) so readers never see half of one.

Each file is written under a unique temporary name in its final directory and
renamed into place. Concurrent builders (other dockpy processes, or other
threads of this one) may race; each rename is atomic and they all produce the
same content, so the last one simply wins.

What is made from a layer dir (its EROFS image, its cpio archive) is cached
beside the dir as ``.<name>.<identity>.<kind>``, where the identity is the
dir's device, inode and change time: a dir that is removed and re-created
under the same name gets new files, and the stale ones are deleted then.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_key(text: str) -> str:
    """The SHA-256 of ``text`` in hex: the cached vmlinux's name and the acceleration verdict's key.

    CPython's own SHA-256 where it has one: it gives the same digests, and
    importing ``hashlib`` initialises OpenSSL, 5-10 ms of every ``run
    --isolation kvm`` before QEMU's start.
    """
    try:
        from _sha256 import sha256
    except ImportError:  # another Python
        from hashlib import sha256
    return sha256(text.encode()).hexdigest()


def temporary_sibling(path: Path) -> Path:
    """A unique name beside ``path`` (same filesystem, so a rename is atomic); hidden and ``.tmp``."""
    return path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_sibling(path)
    try:
        temporary.write_bytes(data)
        temporary.rename(path)
    finally:
        temporary.unlink(missing_ok=True)


def layer_identity(layer_dir: Path) -> str:
    info = layer_dir.stat()
    return f"{info.st_dev:x}-{info.st_ino:x}-{info.st_ctime_ns:x}"


def beside_layer(layer_dir: Path, kind: str) -> Path:
    """Where the file of ``kind`` made from ``layer_dir`` is cached."""
    return layer_dir.parent / f".{layer_dir.name}.{layer_identity(layer_dir)}.{kind}"


def remove_stale_beside_layer(layer_dir: Path, kind: str, keep: Path) -> None:
    """Files of ``kind`` made from an earlier dir of the same name."""
    for stale in layer_dir.parent.glob(f".{layer_dir.name}.*.{kind}"):
        if stale != keep:
            stale.unlink(missing_ok=True)
