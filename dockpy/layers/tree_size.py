"""How many bytes the files under a directory hold: a container's writable layer, a build cache mount."""

from __future__ import annotations

import os


def tree_size(top: str) -> int:
    """Bytes of the files below ``top`` (symlinks count as themselves, nothing is followed).

    A file that disappears or cannot be read while the tree is walked (a
    running container or build is still writing there) is left out rather
    than failing the listing that asked.
    """
    total = 0
    for directory, _, files in os.walk(top):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                continue
    return total
