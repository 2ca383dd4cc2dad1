"""The members of an archive being loaded, from a tar stream or an OCI layout directory.

An archive comes from anywhere, so every member is checked before anything
reads its data: a name must be a clean relative UTF-8 path (no leading ``/``,
no ``..`` component, no NUL), only regular files, directories, symbolic and
hard links may appear, and a link must point inside the archive (a symlink is
resolved against its own directory, a hard link against the archive root).
The tar itself is parsed by ``layers.tarreader``, which refuses malformed
headers and reports a truncated archive instead of taking it as complete.

A source yields ``(Member, data)`` pairs in archive order; ``data`` is the
member's content as a binary stream, readable only until the next member is
asked for (a tar is read once, front to back, so standard input works).
"""

from __future__ import annotations

import enum
import io
import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dockpy.errors import UnsafeArchiveError
from dockpy.layers.compression import open_tar_stream
from dockpy.layers.tarformat import CONTIGUOUS, DIRECTORY, HARDLINK, REGULAR, REGULAR_V7, SYMLINK
from dockpy.layers.tarreader import MAX_ENTRY_SIZE, TarReader

COPY_CHUNK = 1 << 20
_REGULAR_TYPES = (REGULAR, REGULAR_V7, CONTIGUOUS)


class MemberKind(enum.Enum):
    FILE = "file"
    LINK = "link"  # a symbolic or hard link; ``link_target`` is the archive name it stands for


@dataclass(frozen=True)
class Member:
    """A file or link of the archive under its clean name (``blobs/sha256/<hex>``, ``manifest.json``)."""

    name: str
    kind: MemberKind
    size: int = 0
    link_target: str | None = None


def tar_members(stream: BinaryIO) -> Iterator[tuple[Member, BinaryIO]]:
    """The members of a tar archive (plain, gzip or zstd, as ``docker load`` accepts), in order."""
    reader = TarReader(open_tar_stream(stream))
    for entry in reader:
        raw_name = entry.name.decode("utf-8", errors="surrogateescape")
        name = clean_member_name(raw_name, raw_name)
        if entry.typeflag == DIRECTORY or name is None:
            continue
        if entry.typeflag in _REGULAR_TYPES:
            yield Member(name, MemberKind.FILE, entry.size), _EntryData(reader)
        elif entry.typeflag == SYMLINK:
            yield _symlink(name, entry.linkname.decode("utf-8", errors="surrogateescape")), io.BytesIO()
        elif entry.typeflag == HARDLINK:
            target = clean_member_name(entry.linkname.decode("utf-8", errors="surrogateescape"), raw_name)
            if target is None:
                raise UnsafeArchiveError(f"archive member {raw_name!r} is a hard link to the archive root")
            yield Member(name, MemberKind.LINK, link_target=target), io.BytesIO()
        else:
            raise UnsafeArchiveError(f"archive member {raw_name!r} is a special file (tar type {entry.typeflag!r}); "
                                     "an image archive holds only files, directories and links")
    reader.drain()


def directory_members(top: Path) -> Iterator[tuple[Member, BinaryIO]]:
    """The files and links below ``top`` (an OCI image layout directory), in sorted order."""
    for directory, subdirectories, files in os.walk(top, onerror=_raise_walk_error):
        subdirectories.sort()
        for file_name in sorted(files):
            path = Path(directory, file_name)
            name = path.relative_to(top).as_posix()
            yield from _directory_member(path, name)
        # os.walk lists symlinks to directories among the directories; treat them as links too.
        for link_name in [d for d in subdirectories if Path(directory, d).is_symlink()]:
            subdirectories.remove(link_name)
            path = Path(directory, link_name)
            yield _symlink(path.relative_to(top).as_posix(), os.readlink(path)), io.BytesIO()


def clean_member_name(name: str, shown: str) -> str | None:
    """``name`` as a clean relative path (``./a//b`` → ``a/b``), None for the root; refuses escapes."""
    if "\0" in name:
        raise UnsafeArchiveError(f"archive member {shown!r} has a NUL byte in its name")
    if name.startswith("/"):
        raise UnsafeArchiveError(f"archive member {shown!r} is an absolute path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(f"archive member {shown!r} has a '..' in its path; refusing to leave the archive")
    clean = "/".join(parts)
    try:
        clean.encode("utf-8")  # names were decoded with surrogateescape: this fails for non-UTF-8 bytes
    except UnicodeError:
        raise UnsafeArchiveError(f"archive member {shown!r} has a name that is not UTF-8") from None
    return clean or None


def _symlink(name: str, target: str) -> Member:
    """A symbolic link member; its target is resolved against the link's directory and must stay inside."""
    if target.startswith("/"):
        raise UnsafeArchiveError(f"archive member {name!r} is a symlink to the absolute path {target!r}")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if resolved == ".." or resolved.startswith("../"):
        raise UnsafeArchiveError(f"archive member {name!r} is a symlink to {target!r}, outside the archive")
    clean = clean_member_name(resolved, name)
    if clean is None:
        raise UnsafeArchiveError(f"archive member {name!r} is a symlink to the archive root")
    return Member(name, MemberKind.LINK, link_target=clean)


def _directory_member(path: Path, name: str) -> Iterator[tuple[Member, BinaryIO]]:
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            yield _symlink(name, os.readlink(path)), io.BytesIO()
            return
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeArchiveError(f"{path} is a special file; an image layout holds only files and links")
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        raise UnsafeArchiveError(f"read {path}: {error.strerror}") from error
    with os.fdopen(fd, "rb") as data:
        yield Member(name, MemberKind.FILE, os.fstat(fd).st_size), data


def _raise_walk_error(error: OSError) -> None:
    raise UnsafeArchiveError(f"read {error.filename}: {error.strerror}")


class _EntryData(io.RawIOBase):
    """The data of the tar entry the reader is at, as a stream."""

    def __init__(self, reader: TarReader):
        super().__init__()
        self._reader = reader

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """The reader's bytes as they are: no copy through a buffer (blobs stream in 1 MiB chunks)."""
        return self._reader.read_data(size if size >= 0 else MAX_ENTRY_SIZE)

    def readinto(self, buffer) -> int:
        data = self._reader.read_data(len(buffer))
        buffer[: len(data)] = data
        return len(data)
