"""Copying source entries into an image's root filesystem, with Docker's metadata rules.

Copied files keep their permission bits and modification times; they are
owned by root unless ``--chown`` says otherwise, and ``--chmod`` replaces the
permission bits of everything copied. Missing parent directories are created
(mode 0755, owned like the copied files). Every destination path is resolved
inside the root (``rootpath``), so a symlink in the image never leads a copy
out of it. Files are copied by the kernel (``copy_file_range``), not through
Python buffers.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass

from dockpy.build.context import SourceEntry
from dockpy.build.rootpath import resolve_in_root
from dockpy.errors import BuildError

COPY_CHUNK = 1 << 30
CREATED_DIRECTORY_MODE = 0o755


@dataclass(frozen=True)
class Ownership:
    """Owner and mode of copied entries: ``uid``/``gid`` 0 unless --chown; ``mode`` from --chmod."""

    uid: int = 0
    gid: int = 0
    mode: int | None = None


def make_parents(root: str, path: str, ownership: Ownership) -> None:
    """``mkdir -p`` of ``path``'s parent inside ``root``."""
    make_directories(root, os.path.dirname(path.rstrip("/")) or "/", ownership)


def make_directories(root: str, path: str, ownership: Ownership) -> str:
    """``mkdir -p path`` inside ``root``; returns the host path of the directory."""
    host_path = resolve_in_root(root, path)
    if os.path.isdir(host_path):
        return host_path
    parent = os.path.dirname(path.rstrip("/")) or "/"
    if parent != path:
        make_directories(root, parent, ownership)
    if os.path.lexists(host_path):
        raise BuildError(f"cannot create directory {path}: a file of that name exists in the image")
    os.mkdir(host_path, CREATED_DIRECTORY_MODE)
    os.chown(host_path, ownership.uid, ownership.gid)
    return host_path


def copy_entries(entries: Sequence[SourceEntry], root: str, destination: str, ownership: Ownership) -> None:
    """Copy ``entries`` (one source, parents first) to ``destination`` (an absolute path in ``root``).

    The first entry is the source itself: a file is copied *to* ``destination``,
    a directory's *contents* are copied into it.
    """
    directories: list[tuple[str, os.stat_result]] = []
    resolved_directories: dict[str, str] = {}
    for entry in entries:
        target = destination if not entry.relative else f"{destination.rstrip('/')}/{entry.relative}"
        host_path = _host_path(root, target, entry, resolved_directories)
        _copy_entry(entry, host_path, target, ownership)
        if stat.S_ISDIR(entry.st.st_mode):
            resolved_directories[entry.relative] = host_path
            if entry.relative:
                directories.append((host_path, entry.st))
    # Times of directories last: adding their children changed them.
    for host_path, st in reversed(directories):
        os.utime(host_path, ns=(st.st_mtime_ns, st.st_mtime_ns), follow_symlinks=False)


def _host_path(root: str, target: str, entry: SourceEntry, resolved_directories: dict[str, str]) -> str:
    """Where ``entry`` goes on the host: ``resolve_in_root`` of ``target``, in one step when it can be.

    Entries come parents first, and a directory this copy made or checked
    has its host path in ``resolved_directories``: below it only the last
    component can be a symlink (one the image has), so the rest of the walk
    is not repeated for every file of a big tree.
    """
    parent_relative, _, name = entry.relative.rpartition("/")
    parent = resolved_directories.get(parent_relative) if entry.relative else None
    is_directory = stat.S_ISDIR(entry.st.st_mode)
    if parent is None:
        return resolve_in_root(root, target, follow_last=is_directory)
    host_path = f"{parent}/{name}"
    if is_directory and os.path.islink(host_path):  # a symlink the image has: follow it inside the root
        return resolve_in_root(root, target)
    return host_path


def _copy_entry(entry: SourceEntry, host_path: str, target: str, ownership: Ownership) -> None:
    mode = entry.st.st_mode
    if stat.S_ISDIR(mode):
        _make_directory(host_path, target, entry, ownership)
        return
    _remove_non_directory(host_path, target)
    if stat.S_ISLNK(mode):
        os.symlink(os.readlink(entry.path), host_path)
        os.chown(host_path, ownership.uid, ownership.gid, follow_symlinks=False)
        os.utime(host_path, ns=(entry.st.st_mtime_ns, entry.st.st_mtime_ns), follow_symlinks=False)
    elif stat.S_ISREG(mode):
        copy_file(entry.path, host_path, entry.st, ownership)
    else:
        raise BuildError(f"{entry.path}: cannot copy a special file (only files, directories and symlinks)")


def _make_directory(host_path: str, target: str, entry: SourceEntry, ownership: Ownership) -> None:
    if os.path.lexists(host_path) and not os.path.isdir(host_path):
        os.unlink(host_path)
    if not os.path.isdir(host_path):
        os.mkdir(host_path)
    elif not entry.relative:
        return  # copying *into* an existing directory leaves the directory itself alone
    os.chown(host_path, ownership.uid, ownership.gid)
    os.chmod(host_path, ownership.mode if ownership.mode is not None else stat.S_IMODE(entry.st.st_mode))


def _remove_non_directory(host_path: str, target: str) -> None:
    if os.path.isdir(host_path) and not os.path.islink(host_path):
        raise BuildError(f"cannot copy to {target}: it is a directory in the image")
    if os.path.lexists(host_path):
        os.unlink(host_path)


def copy_file(source: str, host_path: str, st: os.stat_result, ownership: Ownership) -> None:
    """Copy a regular file's content and set owner, mode and times."""
    source_fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        target_fd = os.open(host_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            _copy_content(source_fd, target_fd, st.st_size)
            os.fchown(target_fd, ownership.uid, ownership.gid)
            os.fchmod(target_fd, ownership.mode if ownership.mode is not None else stat.S_IMODE(st.st_mode))
            os.utime(target_fd, ns=(st.st_mtime_ns, st.st_mtime_ns))
        finally:
            os.close(target_fd)
    finally:
        os.close(source_fd)


def write_file(host_path: str, data: bytes, mode: int, ownership: Ownership, mtime_ns: int) -> None:
    """Create a file from bytes (heredocs, downloads) with Docker's metadata rules."""
    if os.path.lexists(host_path):
        _remove_non_directory(host_path, host_path)
    with open(host_path, "xb") as writer:
        writer.write(data)
        os.fchown(writer.fileno(), ownership.uid, ownership.gid)
        os.fchmod(writer.fileno(), ownership.mode if ownership.mode is not None else mode)
    os.utime(host_path, ns=(mtime_ns, mtime_ns))


def _copy_content(source_fd: int, target_fd: int, size: int) -> None:
    """In the kernel: copy_file_range (same filesystem), else sendfile (into an overlay mount)."""
    copied = 0
    try:
        while copied < size:
            count = os.copy_file_range(source_fd, target_fd, min(size - copied, COPY_CHUNK))
            if count == 0:
                return
            copied += count
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS):
            raise
    while copied < size:
        count = os.sendfile(target_fd, source_fd, copied, min(size - copied, COPY_CHUNK))
        if count == 0:
            return
        copied += count
