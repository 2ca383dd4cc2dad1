"""Drop what an upper directory holds in vain (overlayfs-tools' "vacuum").

overlayfs copies a file up as soon as it is opened for writing, and the
write may never come or may put back the same bytes; a whiteout may name
something no layer below has. ``vacuum`` removes from an upper dir every
entry that changes nothing about the merged view:

- a file, symlink or device identical to the one below it (type, mode,
  owner, mtime, xattrs, and content, target or device number);
- a whiteout of a path the layers below do not have;
- a directory left empty by the above that is not opaque and matches the one below.

Entries carrying a redirect or metacopy mark are kept (and a redirected
directory is not entered): their meaning depends on paths elsewhere. Run it
on an upper dir that is not mounted; overlayfs does not expect its upper dir
to change underneath it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from dockpy.layers.layerstack import LayerEntry, LayerStack, View, child_path, scan_layer_directory, user_xattrs

# Compare file contents this many bytes at a time.
_CHUNK = 1 << 20


def vacuum(upper_dir: str | os.PathLike, lower_dirs: Sequence[str | os.PathLike]) -> list[str]:
    """Remove the redundant entries of ``upper_dir`` over ``lower_dirs`` (top-most first).

    Returns the removed paths (``/a/b``), sorted.
    """
    lower = LayerStack(lower_dirs)
    removed: list[str] = []
    _vacuum_directory(lower, os.fspath(upper_dir), "/", lower.root(), removed)
    return sorted(removed)


def _vacuum_directory(lower: LayerStack, directory: str, path: str, below: View | None, removed: list) -> None:
    for entry in scan_layer_directory(directory):
        if entry.redirect is not None or entry.is_metacopy:
            continue
        entry_path = child_path(path, entry.name)
        old = lower.lookup(below, entry.name) if below is not None else None
        old = old if old is not None and old.exists else None
        if entry.is_dir:
            # Below an opaque directory nothing shows through, so only its whiteouts can go.
            _vacuum_directory(lower, entry.path, entry_path, None if entry.is_opaque else old, removed)
        if _redundant(entry, old):
            (os.rmdir if entry.is_dir else os.unlink)(entry.path)
            removed.append(entry_path)


def _redundant(entry: LayerEntry, old: View | None) -> bool:
    if entry.is_whiteout:
        return old is None
    if old is None or entry.is_opaque:
        return False
    if entry.is_dir and os.listdir(entry.path):
        return False
    return _identical(entry, old)


def _identical(entry: LayerEntry, old: View) -> bool:
    """Whether the upper ``entry`` shows exactly what ``old`` below it shows (``entry.stat`` is from before vacuuming)."""
    new_status, old_status = entry.stat, old.entry.stat
    fields = ("st_mode", "st_uid", "st_gid", "st_rdev", "st_mtime_ns")
    if not stat.S_ISDIR(new_status.st_mode):
        fields += ("st_size",)
    if any(getattr(new_status, f) != getattr(old_status, f) for f in fields):
        return False
    if user_xattrs(entry.path) != user_xattrs(old.entry.path):
        return False
    if stat.S_ISLNK(new_status.st_mode):
        return os.readlink(entry.path) == os.readlink(old.entry.path)
    if stat.S_ISREG(new_status.st_mode):
        return old.data is not None and _same_bytes(entry.path, old.data)
    return True


def _same_bytes(first: str, second: str) -> bool:
    with open(first, "rb") as a, open(second, "rb") as b:
        while True:
            chunk = a.read(_CHUNK)
            if chunk != b.read(_CHUNK):
                return False
            if not chunk:
                return True
