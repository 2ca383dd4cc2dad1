"""What changed in an overlay upper directory, by ``docker diff``'s rules.

- ``A``: a path the layers below do not have (or have removed); every path
  under an added directory is ``A`` as well.
- ``D``: a path the layers below have and the upper removed, top-most only:
  a whiteout in the upper, or an entry of a lower directory hidden by an
  opaque upper directory (``rm -rf d; mkdir d``) and not made again. An
  opaque directory that existed below is itself ``C``, not ``D``: it is still
  there, so the result reads like comparing the two trees (Docker's own
  overlay differ prints ``D`` for it, then ``A`` lines beneath a deleted path).
- ``C``: a path both have. Any non-directory in the upper (overlayfs copied it
  up because it was written, as Docker assumes), a path whose type changed,
  and a directory with changes below it or a changed mode, owner or device.

The fast path walks only the upper dir and ``lstat``s the matching lower
paths (``LayerStack.lookup``), so its cost follows the change, never the
image. An upper dir with ``redirect`` or ``metacopy`` entries holds renamed
directories and data-less files whose content lives below; walking it alone
would miss changes, so then the merged trees are compared instead.
"""

from __future__ import annotations

import os
import stat
from collections import namedtuple
from collections.abc import Sequence

from dockpy.layers.layerstack import LayerEntry, LayerStack, View, child_path, scan_layer_directory, walk_merged

ADDED, CHANGED, DELETED = "A", "C", "D"


class Change(namedtuple("Change", "kind path")):
    """One line of ``docker diff``: ``kind`` is ``A``, ``C`` or ``D``; ``path`` starts with ``/``.

    A namedtuple, as ``LayerStack``'s records: ``dockpy diff`` starts without ``dataclasses``.
    """

    __slots__ = ()

    def __str__(self) -> str:
        return f"{self.kind} {self.path}"


def list_changes(upper_dir: str | os.PathLike, lower_dirs: Sequence[str | os.PathLike]) -> list[Change]:
    """The changes an upper dir makes to ``lower_dirs`` (top-most first), sorted by path.

    The upper dir alone says what changed, unless the kernel wrote redirects or
    metacopy files into it (an overlay mounted with ``redirect_dir`` or
    ``metacopy``): the walk stops at the first one and the merged trees are compared.
    """
    lower = LayerStack(lower_dirs)
    walk = _UpperWalk(lower)
    try:
        walk.directory(os.fspath(upper_dir), "/", lower.root(), hides_lower=False)
        return _sorted(walk.changes)
    except _TreeComparisonNeeded:
        return compare_trees(lower, LayerStack([upper_dir, *lower_dirs]))


def compare_trees(old: LayerStack, new: LayerStack) -> list[Change]:
    """The changes from the merged tree ``old`` to the merged tree ``new``, sorted by path."""
    changes: list[Change] = []
    _compare_directories(old, new, old.root(), new.root(), changes)
    return _sorted(changes)


def metadata_differs(old: os.stat_result, new: os.stat_result) -> bool:
    """Docker's test: mode, owner or device differ; for non-directories also size or mtime.

    A directory's size and mtime change whenever an entry inside does, which
    is reported on the entry itself.
    """
    if (old.st_mode, old.st_uid, old.st_gid, old.st_rdev) != (new.st_mode, new.st_uid, new.st_gid, new.st_rdev):
        return True
    if stat.S_ISDIR(new.st_mode):
        return False
    return old.st_size != new.st_size or not _same_mtime(old.st_mtime_ns, new.st_mtime_ns)


class _TreeComparisonNeeded(Exception):
    """The upper dir holds redirects or metacopy files: walking it alone would miss changes."""


class _UpperWalk:
    """The fast path: the upper dir's entries, each looked up in the lower stack."""

    def __init__(self, lower: LayerStack):
        self.lower = lower
        self.changes: list[Change] = []

    def directory(self, directory: str, path: str, below: View | None, *, hides_lower: bool) -> bool:
        """Record the changes in the upper ``directory`` (the lower ``below``); True if any."""
        start = len(self.changes)
        names = set()
        for entry in scan_layer_directory(directory):
            if entry.redirect is not None or entry.is_metacopy:
                raise _TreeComparisonNeeded(entry.path)
            names.add(entry.name)
            old = self.lower.lookup(below, entry.name) if below is not None else None
            self.entry(entry, child_path(path, entry.name), old if old and old.exists else None, hides_lower)
        if hides_lower and below is not None:
            hidden = (v for v in self.lower.children(below) if v.exists and v.name not in names)
            self.changes += [Change(DELETED, view.path) for view in hidden]
        return len(self.changes) > start

    def entry(self, entry: LayerEntry, path: str, old: View | None, hides_lower: bool) -> None:
        """Record the change one upper ``entry`` makes over ``old``, the lower path it covers."""
        if entry.is_whiteout:
            if old is not None:
                self.changes.append(Change(DELETED, path))
        elif old is None:
            self.changes.append(Change(ADDED, path))
            if entry.is_dir:
                self.directory(entry.path, path, None, hides_lower=False)
        elif entry.is_dir and old.is_dir:
            hides = hides_lower or entry.is_opaque
            changed_below = self.directory(entry.path, path, old, hides_lower=hides)
            if changed_below or metadata_differs(old.entry.stat, entry.stat):
                self.changes.append(Change(CHANGED, path))
        else:
            self.changes.append(Change(CHANGED, path))
            if entry.is_dir:  # a directory where a file was: everything in it is new
                self.directory(entry.path, path, None, hides_lower=False)


def _compare_directories(
    old: LayerStack, new: LayerStack, before: View | None, after: View | None, changes: list[Change]
) -> bool:
    """Record the changes from merged directory ``before`` to ``after`` (None: absent); True if any."""
    start = len(changes)
    old_children = {v.name: v for v in old.children(before) if v.exists} if before is not None else {}
    for view in new.children(after) if after is not None else []:
        if not view.exists:
            continue
        previous = old_children.pop(view.name, None)
        if previous is not None and previous.is_dir and view.is_dir:
            changed_below = _compare_directories(old, new, previous, view, changes)
            if changed_below or metadata_differs(previous.entry.stat, view.entry.stat):
                changes.append(Change(CHANGED, view.path))
            continue
        if previous is None:
            changes.append(Change(ADDED, view.path))
        elif metadata_differs(previous.entry.stat, view.entry.stat):
            changes.append(Change(CHANGED, view.path))
        if view.is_dir:
            changes += [Change(ADDED, v.path) for v in walk_merged(new, view)]
    changes += [Change(DELETED, view.path) for view in old_children.values()]
    return len(changes) > start


def _same_mtime(old_ns: int, new_ns: int) -> bool:
    # Tar keeps whole seconds: equal, or the same second with either side lacking nanoseconds (as Docker).
    if old_ns == new_ns:
        return True
    return old_ns // 10**9 == new_ns // 10**9 and (old_ns % 10**9 == 0 or new_ns % 10**9 == 0)


def _sorted(changes: list[Change]) -> list[Change]:
    return sorted(changes, key=lambda change: change.path)
