"""Write an OCI layer tar of a directory: an overlay upper directory, or any plain tree.

What goes in, and how (``docs/layers-tar.md`` has the reasons):

- Entries in depth-first order, each directory's entries sorted by the bytes of
  their names in the tar, so parents come before children (GNU tar's
  ``--sort=name`` order). The tree's root itself is not an entry (as in Docker's layers).
- Overlay whiteouts (0/0 character devices, or files with the whiteout xattr)
  become empty ``.wh.<name>`` files (mode 0600, as Docker writes them); an
  opaque directory is followed by an empty ``<dir>/.wh..wh..opq`` file.
- A second path to an inode already written becomes a hard-link entry.
- Numeric uid/gid, empty user/group names, mode with setuid/setgid/sticky bits,
  whole-second mtimes (no atime/ctime), devices and fifos; sockets are skipped.
- Extended attributes as PAX ``SCHILY.xattr.*`` records, except overlayfs's
  private ``trusted.overlay.*``/``user.overlay.*``.
- Deterministic: the same tree gives the same bytes. With
  ``source_date_epoch`` every mtime later than it is clamped to it.
  Reading ``SOURCE_DATE_EPOCH`` from the environment is the caller's choice
  (``source_date_epoch_from_environment``): a library must not change its
  output because of a variable a user forgot was set.

An upper directory of an overlay mounted with ``redirect_dir`` or ``metacopy``
does not describe its changes by itself; such an entry raises
``OverlayFeatureError`` so the caller can diff by tree comparison instead.

Speed: headers are built here from bytes templates (``tarfile`` costs ~25 µs
an entry), small entries are batched into ~1 MiB writes, and big files are
copied in 4 MiB reads, each into fresh memory backed by huge pages where the
kernel gives them (``_read_into_new_buffer``). Every buffer given to
``out.write`` is new and never touched again, so ``out`` may keep it
(``BackgroundWriter`` does); a big file's chunks are memoryviews.
"""

from __future__ import annotations

import contextlib
import errno
import io
import mmap
import os
import stat
from collections.abc import Mapping

from dockpy.errors import DockpyError, IntegrityError, InvalidInputError, OverlayFeatureError, StoreError
from dockpy.layers import whiteouts
from dockpy.layers.tarformat import (
    BLOCK_DEVICE,
    CHAR_DEVICE,
    DIRECTORY,
    END_OF_ARCHIVE,
    FIFO,
    HARDLINK,
    MAX_OCTAL_7,
    MAX_OCTAL_11,
    NAME_FIELD_SIZE,
    PAX_EXTENDED,
    PAX_HEADER_NAME,
    PAX_XATTR_PREFIX,
    REGULAR,
    SYMLINK,
    padding,
)

FLUSH_SIZE = 1 << 20  # batch small entries into writes of about this size
BIG_FILE_CHUNK = 4 << 20  # files larger than this are streamed in chunks of this size
WHITEOUT_MODE = 0o600  # what Docker gives .wh. files
# O_NONBLOCK: should a fifo appear where a file was listed, opening it must not hang.
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_OPEN_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_ZEROS = bytes(512)
_NAME_PAD = bytes(NAME_FIELD_SIZE)
# The header after the linkname: magic and version, empty uname and gname, then
# (after the device numbers) an empty prefix and the block's unused tail.
_MAGIC_AND_NAMES = b"ustar\x0000" + bytes(64)
_NO_DEVICE = b"0000000\0" * 2
_TAIL = bytes(155 + 12)
_AFTER_LINKNAME = _MAGIC_AND_NAMES + _NO_DEVICE + _TAIL
_SPACES_SUM = 8 * ord(" ")  # the checksum is computed with its own field as 8 spaces
_AFTER_LINKNAME_SUM = sum(_AFTER_LINKNAME) + _SPACES_SUM
_MAGIC_AND_TAIL_SUM = sum(_MAGIC_AND_NAMES) + sum(_TAIL) + _SPACES_SUM


def write_layer_tar(source_dir: str | os.PathLike, out: io.BufferedIOBase, *, source_date_epoch: int | None = None) -> None:
    """Write the layer tar of ``source_dir`` (its contents, not itself) to the binary stream ``out``."""
    root = os.fsencode(source_dir)
    writer = _LayerTarWriter(out, source_date_epoch)
    try:
        writer.write_tree(root)
    except DockpyError:
        raise
    except OSError as error:
        where = os.fsdecode(error.filename) if error.filename else os.fsdecode(root)
        raise StoreError(f"archive {where}: {error.strerror or error}") from error
    writer.finish()


def source_date_epoch_from_environment(environ: Mapping[str, str] = os.environ) -> int | None:
    """``SOURCE_DATE_EPOCH`` as an int, None when unset or empty (reproducible-builds.org's rules)."""
    value = environ.get("SOURCE_DATE_EPOCH", "")
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInputError(f"SOURCE_DATE_EPOCH={value!r} is not a number of seconds since 1970")
    return int(value)


class _Directory:
    """A directory being archived: its path, an open fd for ``*at`` calls, its sorted children."""

    __slots__ = ("path", "fd", "children")

    def __init__(self, path: bytes, tar_prefix: bytes, parent_fd: int | None = None):
        self.path = path
        if parent_fd is None:  # the root the caller named may be reached through a symlink
            self.fd = os.open(path, _OPEN_DIRECTORY & ~os.O_NOFOLLOW)
        else:
            self.fd = os.open(os.path.basename(path), _OPEN_DIRECTORY, dir_fd=parent_fd)
        try:
            self.children = iter(_sorted_children(path, self.fd, tar_prefix))
        except BaseException:
            os.close(self.fd)
            raise


class _LayerTarWriter:
    """One tar being written: the output buffer and the inodes already written."""

    def __init__(self, out: io.BufferedIOBase, source_date_epoch: int | None):
        self._out = out
        self._clamp = source_date_epoch
        self._pending = bytearray()
        self._first_path_of_inode: dict[tuple[int, int], bytes] = {}

    def write_tree(self, root: bytes) -> None:
        """Every entry under ``root``, depth first, parents before children."""
        stack = [_Directory(root, b"")]
        try:
            while stack:
                directory = stack[-1]
                child = next(directory.children, None)
                if child is None:
                    os.close(stack.pop().fd)
                    continue
                tar_name, name, is_file = child
                if is_file:
                    self._add_file(tar_name, name, directory)
                elif self._add_other(tar_name, name, directory):
                    stack.append(_Directory(directory.path + b"/" + name, tar_name + b"/", directory.fd))
        finally:
            for directory in stack:
                os.close(directory.fd)

    def finish(self) -> None:
        self._pending += END_OF_ARCHIVE
        self._flush()

    def _add_file(self, tar_name: bytes, name: bytes, directory: _Directory) -> None:
        """A regular file: the common case, so it is kept to five system calls and few Python calls."""
        fd = os.open(name, _OPEN_FILE, dir_fd=directory.fd)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):  # replaced since it was listed
                self._add_other(tar_name, name, directory)
                return
            if st.st_nlink > 1 and self._add_hard_link(tar_name, st):
                return
            xattrs = _xattrs_of(fd, directory.path + b"/" + name) if _has_xattrs(fd) else None
            if xattrs and whiteouts.is_xattr_whiteout(xattrs):
                self._add_whiteout(_whiteout_tar_name(tar_name), st)
                return
            size = st.st_size
            self._add_header(tar_name, st, REGULAR, size=size, xattrs=xattrs)
            if size > BIG_FILE_CHUNK:
                self._stream_big_data(fd, size, directory.path + b"/" + name)
                return
            data = os.read(fd, size)
            if len(data) != size:
                raise _changed_while_reading(directory.path + b"/" + name, size)
        finally:
            os.close(fd)
        pending = self._pending
        pending += data
        pending += _ZEROS[: -size % 512]
        if len(pending) >= FLUSH_SIZE:
            self._flush()

    def _add_other(self, tar_name: bytes, name: bytes, directory: _Directory) -> bool:
        """Any entry but a regular file; True if it is a directory to descend into."""
        st = os.stat(name, dir_fd=directory.fd, follow_symlinks=False)
        mode = st.st_mode
        path = directory.path + b"/" + name
        if stat.S_ISDIR(mode):
            self._add_directory(tar_name, st, path)
            return True
        if stat.S_ISREG(mode):
            self._add_file(tar_name, name, directory)
        elif stat.S_ISLNK(mode):
            linkname = os.readlink(name, dir_fd=directory.fd)
            self._add_header(tar_name, st, SYMLINK, linkname=linkname, xattrs=_xattrs_of(path))
        elif whiteouts.is_overlay_whiteout(st):
            self._add_whiteout(tar_name, st)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            kind = CHAR_DEVICE if stat.S_ISCHR(mode) else BLOCK_DEVICE
            self._add_header(tar_name, st, kind, device=st.st_rdev, xattrs=_xattrs_of(path))
        elif stat.S_ISFIFO(mode):
            self._add_header(tar_name, st, FIFO, xattrs=_xattrs_of(path))
        # Sockets are skipped: a tar cannot hold one (Docker skips them too).
        return False

    def _add_directory(self, tar_name: bytes, st: os.stat_result, path: bytes) -> None:
        xattrs = _xattrs_of(path)
        self._add_header(tar_name + b"/", st, DIRECTORY, xattrs=xattrs)
        if xattrs and whiteouts.is_opaque_value(xattrs):
            marker = tar_name + b"/" + whiteouts.OPAQUE_MARKER_BYTES
            self._add_header(marker, st, REGULAR, mode=stat.S_IMODE(st.st_mode) & 0o777)

    def _add_whiteout(self, tar_name: bytes, st: os.stat_result) -> None:
        self._add_header(tar_name, st, REGULAR, mode=WHITEOUT_MODE)

    def _add_hard_link(self, tar_name: bytes, st: os.stat_result) -> bool:
        """A link entry if this inode was written before; else remember it and return False."""
        key = (st.st_dev, st.st_ino)
        first = self._first_path_of_inode.get(key)
        if first is None:
            self._first_path_of_inode[key] = tar_name
            return False
        self._add_header(tar_name, st, HARDLINK, linkname=first)
        return True

    def _stream_big_data(self, fd: int, size: int, path: bytes) -> None:
        self._flush()
        remaining = size
        while remaining:
            # A new buffer each time: ``out`` may hold on to what it was given (see BackgroundWriter).
            chunk = _read_into_new_buffer(fd, min(remaining, BIG_FILE_CHUNK))
            if not chunk:
                raise _changed_while_reading(path, size)
            self._out.write(chunk)
            remaining -= len(chunk)
        self._pending += _ZEROS[: padding(size)]

    def _add_header(self, name, st, typeflag, *, size=0, mode=None, linkname=b"", device=0, xattrs=None) -> None:
        mtime = st.st_mtime_ns // 1_000_000_000
        if self._clamp is not None and mtime > self._clamp:
            mtime = self._clamp
        if mode is None:
            mode = st.st_mode & 0o7777
        uid, gid = st.st_uid, st.st_gid
        if (
            xattrs
            or len(name) > NAME_FIELD_SIZE
            or len(linkname) > NAME_FIELD_SIZE
            or not (name.isascii() and linkname.isascii())
            or uid > MAX_OCTAL_7
            or gid > MAX_OCTAL_7
            or not 0 <= mtime <= MAX_OCTAL_11
            or size > MAX_OCTAL_11
        ):
            self._pending += _pax_header(_pax_records(name, linkname, uid, gid, size, mtime, xattrs))
            # The ustar fields get what fits; readers take the PAX records instead.
            name, linkname = name[:NAME_FIELD_SIZE], linkname[:NAME_FIELD_SIZE]
            uid, gid = min(uid, MAX_OCTAL_7), min(gid, MAX_OCTAL_7)
            size, mtime = min(size, MAX_OCTAL_11), min(max(mtime, 0), MAX_OCTAL_11)
        self._pending += _ustar_block(name, mode, uid, gid, size, mtime, typeflag, linkname, device)

    def _flush(self) -> None:
        if self._pending:
            self._out.write(self._pending)
            self._pending = bytearray()


def _read_into_new_buffer(fd: int, size: int) -> memoryview:
    """Up to ``size`` bytes read from ``fd`` into new memory, in huge pages if the kernel has them to give.

    Fresh memory costs a page fault per page on first touch, and a fault is
    slow in a VM (3-30 µs on this one): the tar of a 10 MiB file read into
    ``os.read``'s buffers faulted 2,569 times and took 12 ms of CPU; in 2 MiB
    pages (``MADV_HUGEPAGE``, which transparent huge pages honour in their
    default ``madvise`` mode) it faults 9 times and takes 5 ms. Without huge
    pages this is an ordinary private anonymous mapping, no worse than malloc's.
    """
    buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)  # shared memory gets no huge pages
    with contextlib.suppress(OSError):  # a kernel built without transparent huge pages refuses the advice
        buffer.madvise(mmap.MADV_HUGEPAGE)
    return memoryview(buffer)[: os.readv(fd, [buffer])]


def _ustar_block(name, mode, uid, gid, size, mtime, typeflag, linkname=b"", device=0) -> bytes:
    """The 512-byte ustar header of values that fit its fields."""
    numbers = b"%07o\0%07o\0%07o\0%011o\0%011o\0" % (mode, uid, gid, size, mtime)
    if device:
        devices = b"%07o\0%07o\0" % (os.major(device), os.minor(device))
        after_linkname = _MAGIC_AND_NAMES + devices + _TAIL
        after_sum = _MAGIC_AND_TAIL_SUM + sum(devices)
    else:
        after_linkname, after_sum = _AFTER_LINKNAME, _AFTER_LINKNAME_SUM
    checksum = after_sum + sum(name) + sum(numbers) + typeflag[0] + sum(linkname)
    return b"".join(
        (
            name,
            _NAME_PAD[len(name) :],
            numbers,
            b"%06o\0 " % checksum,
            typeflag,
            linkname,
            _NAME_PAD[len(linkname) :],
            after_linkname,
        )
    )


def _pax_records(name, linkname, uid, gid, size, mtime, xattrs) -> list[tuple[bytes, bytes]]:
    """Records for what the ustar fields cannot hold, and the xattrs, sorted by key."""
    records = []
    if len(name) > NAME_FIELD_SIZE or not name.isascii():
        records.append((b"path", name))
    if len(linkname) > NAME_FIELD_SIZE or not linkname.isascii():
        records.append((b"linkpath", linkname))
    if uid > MAX_OCTAL_7:
        records.append((b"uid", b"%d" % uid))
    if gid > MAX_OCTAL_7:
        records.append((b"gid", b"%d" % gid))
    if size > MAX_OCTAL_11:
        records.append((b"size", b"%d" % size))
    if not 0 <= mtime <= MAX_OCTAL_11:
        records.append((b"mtime", b"%d" % mtime))
    for key, value in (xattrs or {}).items():
        if not whiteouts.is_overlay_private(key):
            records.append((PAX_XATTR_PREFIX + key.encode(), value))
    records.sort()
    return records


def _pax_header(records: list[tuple[bytes, bytes]]) -> bytes:
    """An ``x`` entry holding ``records``, padded to whole blocks."""
    body = b"".join(_pax_record(key, value) for key, value in records)
    header = _ustar_block(PAX_HEADER_NAME, 0o644, 0, 0, len(body), 0, PAX_EXTENDED)
    return header + body + _ZEROS[: padding(len(body))]


def _pax_record(key: bytes, value: bytes) -> bytes:
    """``"<length> <key>=<value>\\n"``, where the length counts its own digits."""
    rest = len(key) + len(value) + 3  # space, '=', newline
    length = rest + len(str(rest))
    if len(str(length)) != len(str(rest)):
        length += 1
    return b"%d %s=%s\n" % (length, key, value)


def _has_xattrs(fd: int) -> bool:
    try:
        return bool(os.listxattr(fd))
    except OSError as error:
        if error.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):  # a filesystem without xattrs
            return False
        raise


def _xattrs_of(target: bytes | int, path: bytes | None = None) -> dict[str, bytes]:
    """All extended attributes of a path (not following symlinks) or an open fd, by name.

    Raises ``OverlayFeatureError`` for an entry that overlayfs redirected or metacopied.
    """
    no_follow = {} if isinstance(target, int) else {"follow_symlinks": False}
    try:
        names = os.listxattr(target, **no_follow)
    except OSError as error:
        if error.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):  # a filesystem without xattrs
            return {}
        raise
    if not names:
        return {}
    for name in names:
        if whiteouts.changes_meaning_of_upper(name):
            raise OverlayFeatureError(
                f"{os.fsdecode(path or target)} carries the overlay xattr {name}: this upper directory "
                "was written with redirect_dir or metacopy and cannot be archived by itself"
            )
    return {name: os.getxattr(target, name, **no_follow) for name in sorted(names)}


def _sorted_children(directory: bytes, directory_fd: int, tar_prefix: bytes) -> list[tuple[bytes, bytes, bool]]:
    """(tar name, name, is a regular file) of each entry, sorted by tar name.

    Only entries that may be whiteouts (character devices, or what the
    directory listing cannot type) cost an lstat here.
    """
    children = []
    with os.scandir(directory) as entries:
        for entry in entries:
            name = entry.name
            if entry.is_file(follow_symlinks=False):
                children.append((tar_prefix + name, name, True))
                continue
            if not (entry.is_dir(follow_symlinks=False) or entry.is_symlink()):
                if whiteouts.is_overlay_whiteout(os.stat(name, dir_fd=directory_fd, follow_symlinks=False)):
                    children.append((tar_prefix + whiteouts.whiteout_name(name), name, False))
                    continue
            children.append((tar_prefix + name, name, False))
    children.sort()
    return children


def _whiteout_tar_name(tar_name: bytes) -> bytes:
    parent, _, base = tar_name.rpartition(b"/")
    return (parent + b"/" if parent else b"") + whiteouts.whiteout_name(base)


def _changed_while_reading(path: bytes, size: int) -> IntegrityError:
    return IntegrityError(f"{os.fsdecode(path)} changed while it was archived (expected {size} bytes)")
