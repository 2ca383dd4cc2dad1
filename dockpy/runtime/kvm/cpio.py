"""A writer for the ``newc`` cpio format, the one the Linux kernel unpacks as an initramfs.

Only what an initramfs needs: directories, regular files, symlinks and
character devices, all owned by root with mtime 0, so the same inputs always
give the same bytes (the initramfs is cached by its content digest).

Format (``Documentation/driver-api/early-userspace/buffer-format.rst``): each
entry is a 110-byte ASCII header (magic ``070701`` and 13 eight-digit hex
fields), the NUL-terminated name padded to a multiple of 4, then the data
padded to a multiple of 4. The archive ends with an entry named ``TRAILER!!!``.
"""

from __future__ import annotations

import io
import stat

NEWC_MAGIC = b"070701"
TRAILER = "TRAILER!!!"


class CpioWriter:
    """Appends entries to a binary stream; call ``finish`` once to write the trailer."""

    def __init__(self, stream: io.BufferedIOBase):
        self._stream = stream
        self._next_inode = 1

    def add_directory(self, path: str, mode: int = 0o755) -> None:
        self._add(path, stat.S_IFDIR | mode, b"", nlink=2)

    def add_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self._add(path, stat.S_IFREG | mode, data)

    def add_symlink(self, path: str, target: str) -> None:
        self._add(path, stat.S_IFLNK | 0o777, target.encode())

    def add_char_device(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        self._add(path, stat.S_IFCHR | mode, b"", rdev=(major, minor))

    def finish(self) -> None:
        self._add(TRAILER, 0, b"", inode=0, nlink=1)

    def _add(self, path: str, mode: int, data: bytes, *, nlink: int = 1, rdev=(0, 0), inode: int | None = None) -> None:
        name = path.lstrip("/").encode() + b"\0"
        if inode is None:
            inode, self._next_inode = self._next_inode, self._next_inode + 1
        fields = (inode, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name), 0)
        header = NEWC_MAGIC + b"".join(b"%08x" % value for value in fields)
        self._stream.write(header + name + _padding(len(header) + len(name)))
        self._stream.write(data + _padding(len(data)))


def _padding(length: int) -> bytes:
    return b"\0" * (-length % 4)
