"""A writer for the ``newc`` cpio format, the one the Linux kernel unpacks as an initramfs.

What an initramfs needs: directories, regular files, symlinks and
character devices, all owned by root with mtime 0, so the same inputs always
give the same bytes (the initramfs is cached by its content digest); and
copies of files on disk with their owner, mode, mtime (whole seconds: the
format has no more) and device numbers, for image layers the guest kernel
unpacks (``layer_archive.py``).

Format (``Documentation/driver-api/early-userspace/buffer-format.rst``): each
entry is a 110-byte ASCII header (magic ``070701`` and 13 eight-digit hex
fields), the NUL-terminated name padded to a multiple of 4, then the data
padded to a multiple of 4. The archive ends with an entry named ``TRAILER!!!``.
"""

from __future__ import annotations

import io
import os
import stat

NEWC_MAGIC = b"070701"
TRAILER = "TRAILER!!!"
# Every header field is eight hex digits.
_MAX_FIELD = 0xFFFFFFFF


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

    def add_copy(self, path: str | bytes, info: os.stat_result, data: bytes, inode: int) -> None:
        """An entry with the metadata of a file on disk; entries sharing ``inode`` (within this
        archive) are hard links, and the kernel links them when ``info.st_nlink`` is 2 or more."""
        mtime = min(max(int(info.st_mtime), 0), _MAX_FIELD)
        rdev = (os.major(info.st_rdev), os.minor(info.st_rdev)) if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else (0, 0)
        self._add(path, info.st_mode, data, nlink=info.st_nlink, rdev=rdev, inode=inode,
                  owner=(info.st_uid, info.st_gid), mtime=mtime)

    def finish(self) -> None:
        self._add(TRAILER, 0, b"", inode=0, nlink=1)

    def _add(self, path: str | bytes, mode: int, data: bytes, *, nlink: int = 1, rdev=(0, 0), inode: int | None = None,
             owner=(0, 0), mtime: int = 0) -> None:
        name = os.fsencode(path).lstrip(b"/") + b"\0"
        if inode is None:
            inode, self._next_inode = self._next_inode, self._next_inode + 1
        fields = (inode, mode, owner[0], owner[1], nlink, mtime, len(data), 0, 0, rdev[0], rdev[1], len(name), 0)
        header = NEWC_MAGIC + b"".join(b"%08x" % value for value in fields)
        self._stream.write(header + name + _padding(len(header) + len(name)))
        self._stream.write(data + _padding(len(data)))


def _padding(length: int) -> bytes:
    return b"\0" * (-length % 4)
