"""One read-only EROFS image per layer dir, built once with ``mkfs.erofs`` and cached beside the dir.

A layer dir (an unpacked snapshot, ``<root>/snapshots/<n>/fs``) never changes
once committed, so its image is built the first time a VM needs it and reused
by every later VM, concurrently. The image sits next to the dir as
``.<name>.<identity>.erofs`` (see ``cache_files``).

``mkfs.erofs`` keeps owners, modes, mtimes, xattrs and device nodes, so the
layer's overlay whiteouts (0/0 character devices) and opaque markers
(``trusted.overlay.opaque``) work in the guest's overlay exactly as on the host.
Uncompressed: under TCG, decompressing in the guest costs more than reading.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from dockpy.errors import ContainerSetupError, PrerequisiteError
from dockpy.runtime.kvm.children import find_program
from dockpy.runtime.kvm.cache_files import beside_layer, remove_stale_beside_layer, temporary_sibling

MKFS_EROFS = "mkfs.erofs"
EROFS_PACKAGE = "erofs-utils"


def find_mkfs_erofs() -> Path:
    path = find_program(MKFS_EROFS)
    if path is None:
        raise PrerequisiteError(f"{MKFS_EROFS} not found: install {EROFS_PACKAGE}")
    return Path(path)


def layer_image(layer_dir: Path, mkfs: Path | None = None) -> Path:
    """The EROFS image of ``layer_dir``, built now if it is not cached yet (cached beside it, ``cache_files``)."""
    image = beside_layer(layer_dir, "erofs")
    if image.exists():
        return image
    temporary = temporary_sibling(image)
    command = [str(mkfs or find_mkfs_erofs()), "--quiet", "--preserve-mtime", str(temporary), str(layer_dir)]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        temporary.unlink(missing_ok=True)
        raise ContainerSetupError(f"mkfs.erofs {layer_dir}: {completed.stderr.strip() or 'failed'}")
    temporary.rename(image)
    remove_stale_beside_layer(layer_dir, "erofs", keep=image)
    return image
