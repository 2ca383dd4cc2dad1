"""The rules every entry of a layer tar must pass, decided from the tar alone.

Both the applier and ``store_layer_from_tar`` (which stores a tar for
``import``/``load`` without unpacking it) run each entry through one
``EntryChecker``, so a tar is refused the same way wherever it enters.

The rules (``docs/layers-tar.md`` explains the choices):

- A leading ``/`` is stripped, as Docker and GNU tar do; ``.`` and empty
  components are dropped. The root itself (``.``, ``./``) is skipped, as Docker does.
- A ``..`` component is refused outright, even where it would stay inside
  (``a/../b``): no honest layer writer produces one.
- A NUL byte, a component longer than 255 bytes (NAME_MAX) or a path longer
  than 4096 (PATH_MAX) is refused.
- ``.wh.<name>`` deletes ``<name>``; ``.wh..wh..opq`` makes its directory opaque.
  A whiteout of ``""``, ``.`` or ``..``, a whiteout used as a directory, and
  unknown ``.wh..wh.`` metadata are refused; aufs's metadata directories at
  the root (``.wh..wh.plnk``, ``.wh..wh.aufs``, ...) are skipped, as Docker does.
- A hard link must name an earlier non-directory entry of the same tar, so it
  can neither reach outside the target nor into another layer.
- Entry types other than files, hard links, symlinks, devices, fifos and
  directories are refused.

- An entry below a symlink or file of the same tar is refused. Symlinks of lower
  layers are for the filesystem to tell: ``tarapply`` resolves every parent
  without following symlinks.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dockpy.errors import UnsafeArchiveError
from dockpy.layers import whiteouts
from dockpy.layers.tarformat import (
    BLOCK_DEVICE,
    CHAR_DEVICE,
    CONTIGUOUS,
    DIRECTORY,
    FIFO,
    HARDLINK,
    REGULAR,
    REGULAR_V7,
    SYMLINK,
)
from dockpy.layers.tarreader import TarEntry

NAME_MAX = 255
PATH_MAX = 4096  # longer paths break most tools that would use the image
SUPPORTED_TYPES = frozenset((REGULAR, REGULAR_V7, CONTIGUOUS, HARDLINK, SYMLINK, CHAR_DEVICE, BLOCK_DEVICE, DIRECTORY, FIFO))
_TYPE_NAMES = {b"S": "a GNU sparse file", b"M": "a multi-volume continuation", b"D": "a GNU dump directory"}


class Action(enum.Enum):
    CREATE = "create"  # write the entry at ``path``
    WHITEOUT = "whiteout"  # ``path`` was deleted in this layer
    OPAQUE = "opaque"  # the directory ``path`` hides everything below it


@dataclass(slots=True)
class CheckedEntry:
    """An entry that passed the rules: what to do, where (a clean relative path), and for hard links, to what."""

    action: Action
    path: bytes
    entry: TarEntry
    link_target: bytes = b""


class EntryChecker:
    """Checks the entries of one tar, in order (hard links may only name earlier entries)."""

    def __init__(self) -> None:
        # Path → typeflag of every non-directory this tar made so far (and did not delete again).
        self._non_directories: dict[bytes, bytes] = {}

    def check(self, entry: TarEntry) -> CheckedEntry | None:
        """The entry's action, None for entries to skip; raises ``UnsafeArchiveError`` for hostile ones."""
        if entry.typeflag not in SUPPORTED_TYPES:
            kind = _TYPE_NAMES.get(entry.typeflag, f"of unsupported type {entry.typeflag!r}")
            raise UnsafeArchiveError(f"tar entry {entry.shown_name} is {kind}")
        path = clean_path(entry.name, entry)
        if path is None:
            return None
        parent, _, base = path.rpartition(b"/")
        if parent:
            self._refuse_non_directory_parent(entry, parent)
        if base.startswith(whiteouts.WHITEOUT_PREFIX_BYTES):
            return self._check_whiteout(entry, path, parent, base)
        if path.startswith(whiteouts.WHITEOUT_META_PREFIX_BYTES):
            return None  # inside aufs's metadata directories
        if entry.typeflag == DIRECTORY:
            self._non_directories.pop(path, None)
            return CheckedEntry(Action.CREATE, path, entry)
        link_target = self._check_hard_link(entry) if entry.typeflag == HARDLINK else b""
        self._non_directories[path] = entry.typeflag
        return CheckedEntry(Action.CREATE, path, entry, link_target)

    def _refuse_non_directory_parent(self, entry: TarEntry, parent: bytes) -> None:
        """An entry below a symlink or file this tar made (``a -> /etc``, then ``a/passwd``) is refused."""
        end = len(parent)
        while end > 0:
            kind = self._non_directories.get(parent[:end])
            if kind is not None:
                what = "a symlink" if kind == SYMLINK else "not a directory"
                raise UnsafeArchiveError(
                    f"tar entry {entry.shown_name} lies below {parent[:end].decode(errors='replace')!r}, "
                    f"which is {what} in this layer; refusing to write through it"
                )
            end = parent.rfind(b"/", 0, end)

    def _check_whiteout(self, entry: TarEntry, path: bytes, parent: bytes, base: bytes) -> CheckedEntry | None:
        if whiteouts.is_opaque_marker(base):
            return CheckedEntry(Action.OPAQUE, parent, entry)
        if base.startswith(whiteouts.WHITEOUT_META_PREFIX_BYTES):
            if not parent:
                return None  # aufs's metadata at the layer root (.wh..wh.aufs, .wh..wh.plnk)
            raise UnsafeArchiveError(f"tar entry {entry.shown_name} is whiteout metadata no layer format defines")
        name = whiteouts.whited_out_name(base)
        if name in (b"", b".", b".."):
            raise UnsafeArchiveError(f"tar entry {entry.shown_name} is a whiteout of {name.decode()!r}, which names no file")
        deleted = parent + b"/" + name if parent else name
        self._non_directories.pop(deleted, None)
        return CheckedEntry(Action.WHITEOUT, deleted, entry)

    def _check_hard_link(self, entry: TarEntry) -> bytes:
        target = clean_path(entry.linkname, entry, what="hard link target")
        if target is None or target not in self._non_directories:
            raise UnsafeArchiveError(
                f"tar entry {entry.shown_name} is a hard link to {entry.linkname.decode(errors='replace')!r}, "
                "which is not an earlier file of this layer"
            )
        return target


def clean_path(name: bytes, entry: TarEntry, what: str = "name") -> bytes | None:
    """``name`` as a clean relative path (``/a//./b/`` → ``a/b``); None for the root itself."""
    if b"\0" in name:
        raise UnsafeArchiveError(f"tar entry {entry.shown_name} has a NUL byte in its {what}")
    if len(name) > PATH_MAX:
        raise UnsafeArchiveError(f"tar entry {entry.shown_name[:80]}... has a {what} longer than {PATH_MAX} bytes")
    components = [part for part in name.split(b"/") if part and part != b"."]
    for index, part in enumerate(components):
        if part == b"..":
            raise UnsafeArchiveError(f"tar entry {entry.shown_name} has a '..' in its {what}; refusing to leave the target")
        if len(part) > NAME_MAX:
            raise UnsafeArchiveError(f"tar entry {entry.shown_name} has a path component longer than {NAME_MAX} bytes")
        if index < len(components) - 1 and _is_whiteout_directory(part, index):
            raise UnsafeArchiveError(f"tar entry {entry.shown_name} uses a whiteout as a directory")
    return b"/".join(components) if components else None


def _is_whiteout_directory(component: bytes, index: int) -> bool:
    """A whiteout name used as a parent directory; aufs's metadata directories at the root are not."""
    if not component.startswith(whiteouts.WHITEOUT_PREFIX_BYTES):
        return False
    return not (index == 0 and component.startswith(whiteouts.WHITEOUT_META_PREFIX_BYTES))
