"""Trees the layer-tar tests build, and a bit-by-bit description of a tree to compare them.

``build_rich_tree`` makes one of every kind of entry a layer can hold: files
with odd modes, owners and names, hard links, symlinks, devices, a fifo,
xattrs (``user.*`` and ``security.capability``), an overlay whiteout and an
opaque directory. It needs root (devices, ownership, trusted xattrs).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import tarfile
from pathlib import Path

RICH_MTIME = 1_600_000_000
BIG_FILE_SIZE = (5 << 20) + 123  # more than the writer's 4 MiB chunk: exercises streaming
# security.capability, VFS_CAP_REVISION_2 with the effective bit: cap_net_raw (13) permitted.
CAP_NET_RAW = struct.pack("<IIIII", 0x02000001, 1 << 13, 0, 0, 0)
LONG_PATH = "long/" + "n" * 120 + "/" + "f" * 150


def pseudo_random_bytes(size: int, seed: bytes = b"dockpy") -> bytes:
    """Deterministic bytes that do not compress much."""
    block_count = size // 64 + 1
    return b"".join(hashlib.sha512(seed + n.to_bytes(8, "big")).digest() for n in range(block_count))[:size]


def build_rich_tree(root: Path) -> Path:
    """One of every entry kind under ``root``; every mtime a whole second. Returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    _write_files(root)
    _add_links_and_special_files(root)
    _add_ownership_and_modes(root)
    _add_xattrs_and_overlay_forms(root)
    _set_whole_second_mtimes(root)
    return root


def _write_files(root: Path) -> None:
    files = {
        "etc/hostname": b"dockpy\n",
        "empty": b"",
        "bin/suid": b"#!/bin/sh\necho suid\n",
        "bin/ping": b"\x7fELF pretend\n",
        "big.bin": pseudo_random_bytes(BIG_FILE_SIZE),
        LONG_PATH: b"a path longer than the ustar name field\n",
        "caf\u00e9.txt": b"non-ASCII name\n",
        "tmp/.hidden": b"dot file\n",
        "a-b": b"sorts before a/ in byte order of full paths, after it in tar order\n",
        "a/b": b"child of a\n",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    with open(os.path.join(os.fsencode(root), b"raw\xffname"), "wb") as file:
        file.write(b"a name that is not UTF-8\n")


def _add_links_and_special_files(root: Path) -> None:
    os.link(root / "etc/hostname", root / "hard1")
    os.link(root / "etc/hostname", root / "bin/hard2")
    os.symlink("usr/lib", root / "lib")
    os.symlink("/etc/passwd", root / "abs-link")
    os.symlink("nowhere", root / "dangling")
    os.symlink("t" * 150, root / "long-target")
    (root / "dev").mkdir()
    os.mknod(root / "dev/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mknod(root / "dev/loop0", stat.S_IFBLK | 0o660, os.makedev(7, 0))
    (root / "run").mkdir()
    os.mkfifo(root / "run/fifo", 0o600)


def _add_ownership_and_modes(root: Path) -> None:
    os.chmod(root / "bin/suid", 0o4755)
    os.chmod(root / "tmp", 0o1777)
    (root / "shared").mkdir()
    os.chmod(root / "shared", 0o2775)
    os.chown(root / "etc/hostname", 1000, 1000)
    os.chown(root / "shared", 0, 50)
    os.chown(root / "big.bin", 3_000_000, 3_000_001)  # beyond the octal fields: PAX uid/gid
    os.chown(root / "lib", 1000, 1000, follow_symlinks=False)


def _add_xattrs_and_overlay_forms(root: Path) -> None:
    os.setxattr(root / "etc/hostname", "user.comment", b"hello")
    os.setxattr(root / "etc", "user.dir", b"\x00binary\xff")
    os.setxattr(root / "bin/ping", "security.capability", CAP_NET_RAW)
    os.mknod(root / "gone", stat.S_IFCHR, os.makedev(0, 0))  # an overlay whiteout
    os.chmod(root / "gone", 0)
    (root / "opaque").mkdir()
    (root / "opaque/kept").write_bytes(b"in an opaque dir\n")
    os.setxattr(root / "opaque", "trusted.overlay.opaque", b"y")


def _set_whole_second_mtimes(root: Path) -> None:
    paths = sorted(_walk(os.fsencode(root)), reverse=True)  # children before parents
    for index, path in enumerate(paths):
        mtime = (RICH_MTIME + index) * 1_000_000_000
        os.utime(path, ns=(mtime, mtime), follow_symlinks=False)


def _walk(root: bytes):
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            yield os.path.join(directory, name)


def describe_tree(root: Path | str) -> dict[bytes, tuple]:
    """Every entry below ``root`` with all that a layer must preserve (atime and ctime aside)."""
    root_bytes = os.fsencode(root)
    first_path_of_inode: dict[int, bytes] = {}
    description = {}
    for path in sorted(_walk(root_bytes)):
        relative = os.path.relpath(path, root_bytes)
        st = os.lstat(path)
        hard_link_group = None
        if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
            hard_link_group = first_path_of_inode.setdefault(st.st_ino, relative)
        description[relative] = (
            stat.S_IFMT(st.st_mode),
            stat.S_IMODE(st.st_mode),
            st.st_uid,
            st.st_gid,
            st.st_mtime_ns,
            _content_of(path, st),
            st.st_rdev if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else None,
            _xattrs(path),
            hard_link_group,
        )
    return description


def _content_of(path: bytes, st: os.stat_result):
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as file:
            return hashlib.sha256(file.read()).hexdigest()
    if stat.S_ISLNK(st.st_mode):
        return os.readlink(path)
    return None


def _xattrs(path: bytes) -> dict:
    return {name: os.getxattr(path, name, follow_symlinks=False) for name in os.listxattr(path, follow_symlinks=False)}


def build_tar(*members: tuple[tarfile.TarInfo, bytes | None], format=tarfile.PAX_FORMAT) -> bytes:
    """A tar made by Python's tarfile from (TarInfo, data) pairs."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=format) as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def member(name: str, kind=tarfile.REGTYPE, *, linkname: str = "", mode: int = 0o644, mtime: int = RICH_MTIME, **pax):
    """A TarInfo with the usual defaults; keyword arguments become PAX records."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = mode
    info.mtime = mtime
    info.pax_headers = {key.replace("__", "."): value for key, value in pax.items()}
    return info


def tar_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return archive.getnames()
