"""Apply a layer tar to a directory, safely.

Two ways to treat deletions (``whiteout_mode``):

- ``"overlay"``, for snapshots: the directory becomes an overlayfs lower
  layer, so ``.wh.x`` becomes a 0/0 character device ``x`` and
  ``.wh..wh..opq`` the xattr ``trusted.overlay.opaque=y`` on its directory
  (``user.overlay.opaque`` with ``overlay_xattr_prefix="user.overlay."``).
- ``"delete"``, for flattening layers into one plain tree (export, squash):
  ``.wh.x`` removes ``x``; ``.wh..wh..opq`` removes everything in its directory
  that this layer did not itself write (Docker's rule, so the marker's place
  in the tar does not matter).

Nothing is ever written outside ``target_dir``: every entry is first checked
by ``tarcheck`` (no ``..``, no links to outside, ...), then written relative
to a directory fd reached one component at a time with ``O_NOFOLLOW``, so a
symlink in a parent (``a -> /etc``, then ``a/passwd``) is refused rather than
followed, and a symlink as the entry itself is replaced, never written through.
A later entry for the same path wins, as in Docker: it replaces what is there,
except that a directory over a directory keeps the contents.

Metadata is restored in the order the kernel requires: data, owner (which
clears setuid bits and file capabilities), mode, xattrs, mtime; directories
get their mode and mtime last, after their contents. Ownership is restored
when running as root (``same_owner``). Xattrs a filesystem refuses
(``EOPNOTSUPP``/``EPERM``, e.g. ``user.*`` on a symlink) are skipped, as
Docker does; overlayfs's private ``*.overlay.*`` xattrs in a tar are ignored.

The caller applies into a fresh directory and discards it if this raises:
there is no rollback of a half-applied layer.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from dataclasses import dataclass
from typing import BinaryIO

from dockpy.errors import DockpyError, InvalidInputError, StoreError, UnsafeArchiveError
from dockpy.layers import whiteouts
from dockpy.layers.tarcheck import Action, CheckedEntry, EntryChecker
from dockpy.layers.tarformat import BLOCK_DEVICE, CHAR_DEVICE, DIRECTORY, FIFO, HARDLINK, SYMLINK
from dockpy.layers.tarreader import COPY_CHUNK, TarEntry, TarReader

WHITEOUT_MODES = ("overlay", "delete")
# Errors that say the storage is at fault, not the archive.
_STORAGE_ERRNOS = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES))
_OPEN_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CREATE_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_IMPLIED_DIRECTORY_MODE = 0o755  # parents a tar does not list, as Docker makes them
_MAX_OPEN_DIRECTORIES = 128


@dataclass(frozen=True)
class ApplyStats:
    """What an apply did: entries applied (whiteouts included) and bytes of file data written."""

    entries: int
    bytes: int


def apply_layer(
    tar_stream: BinaryIO,
    target_dir: str | os.PathLike,
    *,
    whiteout_mode: str = "overlay",
    overlay_xattr_prefix: str = whiteouts.TRUSTED_OVERLAY,
    same_owner: bool | None = None,
) -> ApplyStats:
    """Unpack the uncompressed layer tar ``tar_stream`` into the existing directory ``target_dir``."""
    if whiteout_mode not in WHITEOUT_MODES:
        raise InvalidInputError(f"whiteout mode {whiteout_mode!r} is not one of {', '.join(WHITEOUT_MODES)}")
    if same_owner is None:
        same_owner = os.geteuid() == 0
    try:
        root_fd = os.open(target_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise StoreError(f"apply layer: open {os.fsdecode(target_dir)}: {error.strerror or error}") from error
    try:
        applier = _LayerApplier(root_fd, whiteout_mode, overlay_xattr_prefix, same_owner)
        try:
            return applier.apply(TarReader(tar_stream))
        finally:
            applier.close()
    finally:
        os.close(root_fd)


class _Directories:
    """Directory fds under the target, reached one component at a time without following symlinks.

    Entries of a sorted tar share parents, so the fds are cached; any removal
    or replacement of a directory calls ``forget`` so no stale fd is used.
    """

    def __init__(self, root_fd: int):
        self._root_fd = root_fd
        self._open: dict[bytes, int] = {}

    def open(self, path: bytes, *, create: bool, entry: TarEntry) -> int:
        """An fd of the directory ``path`` (b"" is the target); missing parents are made if ``create``."""
        fd = self._open.get(path)
        if fd is not None or not path:
            return self._root_fd if fd is None else fd
        if len(self._open) >= _MAX_OPEN_DIRECTORIES:
            self.forget()
        ancestor = self._deepest_open_ancestor(path)
        fd = self._open[ancestor] if ancestor else self._root_fd
        cached = True  # an uncached fd is an intermediate directory the cache had no room for
        walked = ancestor
        for name in path[len(ancestor) :].lstrip(b"/").split(b"/"):
            walked = walked + b"/" + name if walked else name
            try:
                child_fd = self._open_child(fd, name, walked, create, entry)
            finally:
                if not cached:
                    os.close(fd)
            fd = child_fd
            cached = len(self._open) < _MAX_OPEN_DIRECTORIES or walked == path
            if cached:
                self._open[walked] = fd
        return fd

    def _deepest_open_ancestor(self, path: bytes) -> bytes:
        """The longest parent path of ``path`` with a cached fd; b"" for the target."""
        while path and path not in self._open:
            path = path.rpartition(b"/")[0]
        return path

    def forget(self) -> None:
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()

    @staticmethod
    def _open_child(parent_fd: int, name: bytes, path: bytes, create: bool, entry: TarEntry) -> int:
        try:
            return os.open(name, _OPEN_DIRECTORY, dir_fd=parent_fd)
        except FileNotFoundError:
            if not create:
                raise
        except OSError as error:
            if error.errno not in (errno.ENOTDIR, errno.ELOOP):
                raise
            raise UnsafeArchiveError(
                f"tar entry {entry.shown_name}: its parent {path.decode(errors='replace')!r} is a symlink "
                "or not a directory; refusing to write through it"
            ) from None
        os.mkdir(name, _IMPLIED_DIRECTORY_MODE, dir_fd=parent_fd)
        os.chmod(name, _IMPLIED_DIRECTORY_MODE, dir_fd=parent_fd)  # whatever the umask
        return os.open(name, _OPEN_DIRECTORY, dir_fd=parent_fd)


class _LayerApplier:
    """The state of one apply: open directories, deferred directory metadata, paths written."""

    def __init__(self, root_fd: int, whiteout_mode: str, overlay_xattr_prefix: str, same_owner: bool):
        self._directories = _Directories(root_fd)
        self._overlay = whiteout_mode == "overlay"
        self._overlay_xattr_prefix = overlay_xattr_prefix
        self._same_owner = same_owner
        self._directory_metadata: dict[bytes, TarEntry] = {}
        self._written: set[bytes] = set()  # for opaque markers in delete mode
        self._entries = 0
        self._bytes = 0

    def apply(self, reader: TarReader) -> ApplyStats:
        checker = EntryChecker()
        for entry in reader:
            checked = checker.check(entry)
            if checked is not None:
                self._apply_translating_errors(checked, reader)
                self._entries += 1
        self._finish_directories()
        reader.drain()
        return ApplyStats(self._entries, self._bytes)

    def close(self) -> None:
        self._directories.forget()

    def _apply_translating_errors(self, checked: CheckedEntry, reader: TarReader) -> None:
        try:
            if checked.action is Action.CREATE:
                self._create(checked, reader)
            elif checked.action is Action.WHITEOUT:
                self._whiteout(checked)
            else:
                self._make_opaque(checked)
        except DockpyError:
            raise
        except OSError as error:
            raise _translate(error, checked.entry) from error

    # --- entries ------------------------------------------------------------------

    def _create(self, checked: CheckedEntry, reader: TarReader) -> None:
        entry = checked.entry
        parent, _, name = checked.path.rpartition(b"/")
        parent_fd = self._directories.open(parent, create=True, entry=entry)
        if not self._overlay:
            self._remember_written(checked.path)
        kind = entry.typeflag
        if kind == DIRECTORY:
            self._create_directory(parent_fd, name, checked.path, entry)
        elif kind == HARDLINK:
            self._create_hard_link(parent_fd, name, checked.link_target, entry)
        elif kind == SYMLINK:
            self._replacing(parent_fd, name, lambda: os.symlink(entry.linkname, name, dir_fd=parent_fd))
            self._set_metadata_by_name(parent_fd, name, entry, is_symlink=True)
        elif kind in (CHAR_DEVICE, BLOCK_DEVICE, FIFO):
            self._replacing(parent_fd, name, lambda: _make_node(parent_fd, name, entry))
            self._set_metadata_by_name(parent_fd, name, entry)
        else:
            self._create_file(parent_fd, name, entry, reader)

    def _create_file(self, parent_fd: int, name: bytes, entry: TarEntry, reader: TarReader) -> None:
        fd = self._replacing(parent_fd, name, lambda: os.open(name, _CREATE_FILE, 0o600, dir_fd=parent_fd))
        try:
            remaining = entry.size
            while remaining:
                data = reader.read_data(COPY_CHUNK)
                _write_all(fd, data)
                remaining -= len(data)
            self._bytes += entry.size
            if self._same_owner:
                os.fchown(fd, entry.uid, entry.gid)
            os.fchmod(fd, entry.mode)
            self._set_xattrs(fd, entry)
            os.utime(fd, ns=(entry.mtime_ns, entry.mtime_ns))
        finally:
            os.close(fd)

    def _create_directory(self, parent_fd: int, name: bytes, path: bytes, entry: TarEntry) -> None:
        try:
            os.mkdir(name, 0o700, dir_fd=parent_fd)
        except FileExistsError:
            if not stat.S_ISDIR(os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode):
                self._remove(parent_fd, name)
                os.mkdir(name, 0o700, dir_fd=parent_fd)
        fd = self._directories.open(path, create=False, entry=entry)
        if self._same_owner:
            os.fchown(fd, entry.uid, entry.gid)
        self._set_xattrs(fd, entry)
        # Mode and mtime last: a read-only mode would stop the contents, and they would change the mtime.
        self._directory_metadata[path] = entry

    def _create_hard_link(self, parent_fd: int, name: bytes, target: bytes, entry: TarEntry) -> None:
        target_parent, _, target_name = target.rpartition(b"/")
        try:
            target_parent_fd = self._directories.open(target_parent, create=False, entry=entry)
            self._replacing(
                parent_fd,
                name,
                lambda: os.link(target_name, name, src_dir_fd=target_parent_fd, dst_dir_fd=parent_fd, follow_symlinks=False),
            )
        except FileNotFoundError:
            raise UnsafeArchiveError(
                f"tar entry {entry.shown_name} is a hard link to {target.decode(errors='replace')!r}, which does not exist"
            ) from None

    def _whiteout(self, checked: CheckedEntry) -> None:
        entry = checked.entry
        parent, _, name = checked.path.rpartition(b"/")
        if self._overlay:
            parent_fd = self._directories.open(parent, create=True, entry=entry)
            self._replacing(parent_fd, name, lambda: whiteouts.make_overlay_whiteout(parent_fd, name))
            self._set_metadata_by_name(parent_fd, name, entry, keep_mode=True)
            return
        try:
            parent_fd = self._directories.open(parent, create=False, entry=entry)
        except (FileNotFoundError, UnsafeArchiveError):
            return  # nothing is below a missing or non-directory parent, so nothing to delete
        self._remove(parent_fd, name, missing_ok=True)

    def _make_opaque(self, checked: CheckedEntry) -> None:
        fd = self._directories.open(checked.path, create=True, entry=checked.entry)
        if self._overlay:
            whiteouts.mark_opaque(fd, self._overlay_xattr_prefix)
        else:
            self._remove_unwritten(fd, checked.path)

    def _remember_written(self, path: bytes) -> None:
        """Record ``path`` and its parents (which it made, if the tar did not list them) as this layer's."""
        while path and path not in self._written:
            self._written.add(path)
            path = path.rpartition(b"/")[0]

    def _remove_unwritten(self, directory_fd: int, path: bytes) -> None:
        """Delete what earlier layers put below ``path``, keeping what this layer wrote."""
        for name in map(os.fsencode, os.listdir(directory_fd)):
            child = path + b"/" + name if path else name
            if child not in self._written:
                self._remove(directory_fd, name)
            elif stat.S_ISDIR(os.stat(name, dir_fd=directory_fd, follow_symlinks=False).st_mode):
                child_fd = os.open(name, _OPEN_DIRECTORY, dir_fd=directory_fd)
                try:
                    self._remove_unwritten(child_fd, child)
                finally:
                    os.close(child_fd)

    # --- metadata -----------------------------------------------------------------

    def _set_metadata_by_name(self, parent_fd: int, name: bytes, entry: TarEntry, *, is_symlink=False, keep_mode=False) -> None:
        """Owner, mode, xattrs and mtime of a non-file entry just created (so ``name`` is not a symlink unless made one)."""
        if self._same_owner:
            os.chown(name, entry.uid, entry.gid, dir_fd=parent_fd, follow_symlinks=False)
        if not (is_symlink or keep_mode):
            os.chmod(name, entry.mode, dir_fd=parent_fd)
        if entry.xattrs:
            self._set_xattrs(f"/proc/self/fd/{parent_fd}/{os.fsdecode(name)}", entry, follow_symlinks=False)
        os.utime(name, ns=(entry.mtime_ns, entry.mtime_ns), dir_fd=parent_fd, follow_symlinks=False)

    def _set_xattrs(self, target: int | str, entry: TarEntry, **follow) -> None:
        for key, value in entry.xattrs.items():
            if whiteouts.is_overlay_private(key):
                continue
            try:
                os.setxattr(target, key, value, **follow)
            except OSError as error:
                if error.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
                    raise

    def _finish_directories(self) -> None:
        """Directories' modes and mtimes, now that nothing more is written into them."""
        for path, entry in self._directory_metadata.items():
            try:
                fd = self._directories.open(path, create=False, entry=entry)
            except (FileNotFoundError, UnsafeArchiveError):
                continue  # replaced or deleted by a later entry
            try:
                os.chmod(fd, entry.mode)
                os.utime(fd, ns=(entry.mtime_ns, entry.mtime_ns))
            except OSError as error:
                raise _translate(error, entry) from error

    # --- replacing what is there ----------------------------------------------------

    def _replacing(self, parent_fd: int, name: bytes, create):
        """Run ``create``; if the name exists, remove what is there (later entries win) and retry once."""
        try:
            return create()
        except FileExistsError:
            self._remove(parent_fd, name)
            return create()

    def _remove(self, parent_fd: int, name: bytes, *, missing_ok: bool = False) -> None:
        try:
            is_directory = stat.S_ISDIR(os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode)
        except FileNotFoundError:
            if missing_ok:
                return
            raise
        if is_directory:
            # rmtree with dir_fd walks by fds and never follows symlinks.
            shutil.rmtree(name, dir_fd=parent_fd)
            self._directories.forget()
        else:
            os.unlink(name, dir_fd=parent_fd)


def _make_node(parent_fd: int, name: bytes, entry: TarEntry) -> None:
    if entry.typeflag == FIFO:
        os.mkfifo(name, 0o600, dir_fd=parent_fd)
        return
    kind = stat.S_IFCHR if entry.typeflag == CHAR_DEVICE else stat.S_IFBLK
    os.mknod(name, kind | 0o600, os.makedev(entry.devmajor, entry.devminor), dir_fd=parent_fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _translate(error: OSError, entry: TarEntry) -> DockpyError:
    reason = error.strerror or str(error)
    if error.errno in _STORAGE_ERRNOS:
        return StoreError(f"apply layer: write {entry.shown_name}: {reason}")
    return UnsafeArchiveError(f"tar entry {entry.shown_name} cannot be applied: {reason}")
