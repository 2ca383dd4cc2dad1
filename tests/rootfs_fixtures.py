"""Root filesystem tars for import tests: a busybox rootfs built once per session, and tiny ones on demand.

Test packages register the fixtures by importing them into their conftest.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from dockpy.image import templates


def write_tar_of_directory(directory: Path, out: Path) -> Path:
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(directory, arcname=".")
    return out


def rootfs_tar_bytes(files: dict[str, bytes | None], symlinks: dict[str, str] | None = None) -> bytes:
    """A small rootfs tar: ``path -> bytes`` (``None`` makes a directory), plus ``path -> target`` symlinks."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.mtime = 1_700_000_000
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(content), 0o644
                tar.addfile(info, io.BytesIO(content))
        for path, target in sorted((symlinks or {}).items()):
            info = tarfile.TarInfo(path)
            info.type, info.linkname, info.mtime, info.mode = tarfile.SYMTYPE, target, 1_700_000_000, 0o777
            tar.addfile(info)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory) -> Path:
    """A tar of a busybox root filesystem (Debian's busybox-static), built once per session."""
    if not templates.BUSYBOX_BINARY.exists():
        pytest.skip(f"busybox-static is not installed ({templates.BUSYBOX_BINARY})")
    base = tmp_path_factory.mktemp("busybox")
    rootfs = base / "rootfs"
    rootfs.mkdir()
    templates.build_busybox_rootfs(rootfs)
    return write_tar_of_directory(rootfs, base / "busybox.tar")
