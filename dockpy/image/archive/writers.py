"""Where ``save`` writes an archive: a tar stream, or a directory (an OCI image layout on disk).

Both take files by archive name (``blobs/sha256/<hex>``, ``index.json``) and
make parent directories as needed. The tar is deterministic: PAX headers,
entries in the order written, mode 0644 (directories 0755), owner 0:0 with no
names, and every mtime ``ARCHIVE_MTIME``, so the same images give the same
bytes. It is written front to back without seeking, so it can go to a pipe.
"""

from __future__ import annotations

import posixpath
import shutil
import tarfile
from pathlib import Path
from typing import BinaryIO

from dockpy.errors import IntegrityError, InvalidInputError, StoreError
from dockpy.layers.tarformat import END_OF_ARCHIVE, padding

COPY_CHUNK = 1 << 20
# 1970-01-01: archives carry no wall-clock time, so saving twice gives the same bytes.
ARCHIVE_MTIME = 0


class TarArchiveWriter:
    """Writes an archive as a tar to ``out``; ``finish`` writes the end-of-archive marker."""

    def __init__(self, out: BinaryIO):
        self._out = out
        self._directories: set[str] = set()

    def add_bytes(self, name: str, data: bytes) -> None:
        self._add_parents(name)
        self._out.write(_header(name, tarfile.REGTYPE, len(data)))
        self._out.write(data + bytes(padding(len(data))))

    def add_stream(self, name: str, data: BinaryIO, size: int) -> None:
        """Copy exactly ``size`` bytes of ``data`` into the archive as ``name``."""
        self._add_parents(name)
        self._out.write(_header(name, tarfile.REGTYPE, size))
        _copy_exactly(data, self._out, size, name)
        self._out.write(bytes(padding(size)))

    def finish(self) -> None:
        self._out.write(END_OF_ARCHIVE)

    def _add_parents(self, name: str) -> None:
        parent = posixpath.dirname(name)
        if parent and parent not in self._directories:
            self._add_parents(parent)
            self._out.write(_header(parent + "/", tarfile.DIRTYPE, 0))
            self._directories.add(parent)


class DirectoryArchiveWriter:
    """Writes an archive's files below a directory that is empty or does not exist yet.

    Used as a context manager: if the block fails, what was written is removed
    again (and the directory too, if this writer made it).
    """

    def __init__(self, directory: Path):
        self._directory = directory
        self._made_directory = not directory.exists()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            not_empty = any(directory.iterdir())
        except OSError as error:
            raise StoreError(f"create {directory}: {error.strerror}") from error
        if not_empty:
            raise InvalidInputError(f"{directory} is not empty", hint="save an OCI layout into a new or empty directory")

    def __enter__(self) -> "DirectoryArchiveWriter":
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        if exc_type is None:
            return
        if self._made_directory:
            shutil.rmtree(self._directory, ignore_errors=True)
            return
        for child in self._directory.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    def add_bytes(self, name: str, data: bytes) -> None:
        with self._create(name) as out:
            out.write(data)

    def add_stream(self, name: str, data: BinaryIO, size: int) -> None:
        with self._create(name) as out:
            _copy_exactly(data, out, size, name)

    def finish(self) -> None:
        """Nothing to close: each file was complete when ``add_*`` returned."""

    def _create(self, name: str) -> BinaryIO:
        path = self._directory / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return open(path, "xb")
        except OSError as error:
            raise StoreError(f"create {path}: {error.strerror}") from error


def _header(name: str, kind: bytes, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mtime = kind, size, ARCHIVE_MTIME
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _copy_exactly(data: BinaryIO, out: BinaryIO, size: int, name: str) -> None:
    left = size
    while left:
        chunk = data.read(min(COPY_CHUNK, left))
        if not chunk:
            raise IntegrityError(f"{name}: the source ended {left} bytes early")
        out.write(chunk)
        left -= len(chunk)
    if data.read(1):
        raise IntegrityError(f"{name}: the source is longer than its {size} bytes")

