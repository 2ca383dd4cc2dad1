"""Writing the kvm backend's cached files (images, vmlinux, initramfs, verdicts) so readers never see half of one.

Each file is written under a unique temporary name in its final directory and
renamed into place. Concurrent builders (other dockpy processes, or other
threads of this one) may race; each rename is atomic and they all produce the
same content, so the last one simply wins.
"""

from __future__ import annotations

import os
from pathlib import Path


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
