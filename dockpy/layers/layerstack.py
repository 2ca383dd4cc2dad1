"""A stack of overlay-form layer directories, read the way overlayfs reads it.

An overlay upper dir, a snapshot's ``fs`` dir and an unpacked layer all keep
deletions in *overlay form*: a whiteout is a character device 0/0 (or, since
Linux 6.7, an empty file with the ``whiteout`` xattr) named like the removed path, and a directory whose ``trusted.overlay.opaque`` xattr is
``y`` hides whatever the layers below hold at that path (``user.overlay.*``
in user namespaces). ``LayerStack`` resolves one path through a stack of
such directories, top-most first, with one ``lstat`` per layer that holds
the parent directory. That is what lets ``changes``, ``squash`` and
``vacuum`` cost time in proportion to the paths they touch, never to the
size of the image.

Two kernel features store more than that in an upper dir, and are followed
here too: ``redirect`` (a renamed directory, or a metacopy file, continues at
another path in the layers below) and ``metacopy`` (a copied-up inode whose
data stays in a lower file).
"""

from __future__ import annotations

import errno
import os
import stat
from collections import namedtuple
from collections.abc import Iterable, Sequence

# overlayfs keeps its private attributes under one of these, depending on the mount's userxattr option.
OVERLAY_XATTR_NAMESPACES = ("trusted.overlay.", "user.overlay.")
OPAQUE_XATTR = "trusted.overlay.opaque"
OPAQUE_VALUE = b"y"
# Neither is supported by every filesystem; both simply mean "no overlay xattrs here".
_NO_XATTRS = (errno.ENOTSUP, errno.EOPNOTSUPP)


def _xattr_names(path: str | os.PathLike) -> list[str]:
    """The xattr names of ``path`` itself (not a symlink's target); none where xattrs are unsupported."""
    try:
        return os.listxattr(path, follow_symlinks=False)
    except OSError as error:
        if error.errno in _NO_XATTRS:
            return []
        raise


def overlay_xattrs(path: str | os.PathLike) -> dict[str, bytes]:
    """The overlay's private xattrs of ``path``, keyed without namespace (``{"opaque": b"y"}``)."""
    found = {}
    for name in _xattr_names(path):
        for namespace in OVERLAY_XATTR_NAMESPACES:
            if name.startswith(namespace):
                found[name[len(namespace) :]] = os.getxattr(path, name, follow_symlinks=False)
    return found


def user_xattrs(path: str | os.PathLike) -> dict[str, bytes]:
    """The xattrs of ``path`` that belong to the file, not to overlayfs' bookkeeping."""
    return {
        name: os.getxattr(path, name, follow_symlinks=False)
        for name in _xattr_names(path)
        if not name.startswith(OVERLAY_XATTR_NAMESPACES)
    }


def is_whiteout_stat(status: os.stat_result) -> bool:
    """A whiteout is a character device with device number 0/0."""
    return stat.S_ISCHR(status.st_mode) and status.st_rdev == 0


def make_whiteout(path: str | os.PathLike) -> None:
    """Record, in overlay form, that ``path`` is removed from the layers below."""
    os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))


def mark_opaque(directory: str | os.PathLike) -> None:
    """Make ``directory`` hide what the layers below hold at its path."""
    os.setxattr(directory, OPAQUE_XATTR, OPAQUE_VALUE, follow_symlinks=False)


class LayerEntry(namedtuple("LayerEntry", "path stat overlay")):
    """One directory entry as one layer stores it: its ``path`` (a str), ``lstat`` result and overlay xattrs.

    ``overlay`` maps an xattr name without its namespace (``opaque``) to its
    value. The records here are namedtuples, not dataclasses: ``dockpy diff``
    must start fast, and importing ``dataclasses`` alone costs it ~10 ms.
    """

    __slots__ = ()

    @classmethod
    def read(cls, path: str) -> LayerEntry | None:
        """The entry at ``path``, or None when the layer does not hold it."""
        try:
            status = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        # Only directories and regular files carry opaque, redirect or metacopy marks.
        marked = stat.S_ISDIR(status.st_mode) or stat.S_ISREG(status.st_mode)
        return cls(path, status, overlay_xattrs(path) if marked else {})

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.stat.st_mode)

    @property
    def is_whiteout(self) -> bool:
        # Since Linux 6.7 a whiteout may also be an empty file carrying the overlay "whiteout" xattr.
        return is_whiteout_stat(self.stat) or (stat.S_ISREG(self.stat.st_mode) and "whiteout" in self.overlay)

    @property
    def is_opaque(self) -> bool:
        return self.overlay.get("opaque") == OPAQUE_VALUE

    @property
    def redirect(self) -> str | None:
        value = self.overlay.get("redirect")
        return os.fsdecode(value) if value else None

    @property
    def is_metacopy(self) -> bool:
        return "metacopy" in self.overlay


def scan_layer_directory(directory: str | os.PathLike) -> list[LayerEntry]:
    """The entries of one layer's ``directory``, sorted by name (whiteouts included)."""
    with os.scandir(directory) as listing:
        names = sorted(entry.name for entry in listing)
    paths = (os.path.join(directory, name) for name in names)
    return [entry for entry in map(LayerEntry.read, paths) if entry is not None]


# A place to look for a path: (index of the layer in the stack, path on disk).
Location = tuple[int, str]


class View(namedtuple("View", "path entry layers data hides_below", defaults=((), None, False))):
    """One path as the whole stack shows it.

    ``entry`` is the top-most layer's entry: its metadata is what the merged
    filesystem shows, and it is a whiteout when the path is removed. For a
    directory, ``layers`` lists the on-disk directories merged into it,
    top-most first. ``data`` is the file holding a regular file's bytes (a
    lower one for a metacopy file). ``hides_below`` says the stack itself ends
    the merge here (an opaque mark, a whiteout, a redirect, a file over a
    directory), so layers under the whole stack would not show through.
    ``path`` is absolute within the stack (``/etc/hosts``), ``entry`` a
    ``LayerEntry``, ``layers`` a tuple of ``Location``, ``data`` a str or None.
    """

    __slots__ = ()

    @property
    def exists(self) -> bool:
        return not self.entry.is_whiteout

    @property
    def is_dir(self) -> bool:
        return self.entry.is_dir

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def child_path(parent: str, name: str) -> str:
    """``/a`` + ``b`` → ``/a/b``; paths are absolute within the stack, ``/`` is its root."""
    return f"{parent.rstrip('/')}/{name}"


class LayerStack:
    """Overlay-form layer directories, top-most first, read as one merged tree."""

    def __init__(self, layers: Sequence[str | os.PathLike]):
        self.layers = tuple(os.fspath(layer) for layer in layers)

    def root(self) -> View | None:
        """The merged root directory (None for an empty stack)."""
        return self._resolve("/", list(enumerate(self.layers)))

    def lookup(self, parent: View, name: str) -> View | None:
        """``name`` inside the merged directory ``parent``: a View (maybe a whiteout) or None."""
        return self._resolve(child_path(parent.path, name), [(i, os.path.join(d, name)) for i, d in parent.layers])

    def children(self, parent: View) -> list[View]:
        """Everything the merged directory ``parent`` holds, whiteouts included, sorted by name."""
        names: set[str] = set()
        for _, directory in parent.layers:
            names.update(os.listdir(directory))
        found = (self.lookup(parent, name) for name in sorted(names))
        return [view for view in found if view is not None]

    def _resolve(self, path: str, candidates: list[Location]) -> View | None:
        for position, (index, location) in enumerate(candidates):
            entry = LayerEntry.read(location)
            if entry is None:
                continue
            below = self._follow_redirect(entry, index, candidates[position + 1 :])
            if entry.is_whiteout:
                return View(path, entry, hides_below=True)
            if entry.is_dir:
                return self._merge_directory(path, (index, location), entry, below)
            return View(path, entry, data=self._file_data(entry, below), hides_below=True)
        return None

    def _merge_directory(self, path: str, top: Location, entry: LayerEntry, below: list[Location]) -> View:
        merged = [top]
        redirected = entry.redirect is not None
        stopped = entry.is_opaque
        position = 0
        while not stopped and position < len(below):
            index, location = below[position]
            position += 1
            lower = LayerEntry.read(location)
            if lower is None:
                continue
            if not lower.is_dir:  # a whiteout or a file ends the merge
                stopped = True
                break
            merged.append((index, location))
            stopped = lower.is_opaque
            redirected = redirected or lower.redirect is not None
            below = below[:position] + self._follow_redirect(lower, index, below[position:])
        return View(path, entry, tuple(merged), hides_below=stopped or redirected)

    def _file_data(self, entry: LayerEntry, below: list[Location]) -> str | None:
        """Where a file's bytes live: itself, or for a metacopy file the first full copy below."""
        if not entry.is_metacopy:
            return entry.path if stat.S_ISREG(entry.stat.st_mode) else None
        for position, (index, location) in enumerate(below):
            lower = LayerEntry.read(location)
            if lower is not None:
                return self._file_data(lower, self._follow_redirect(lower, index, below[position + 1 :]))
        return None

    def _follow_redirect(self, entry: LayerEntry, index: int, below: list[Location]) -> list[Location]:
        """The places to look below ``entry``: moved elsewhere when it carries a redirect."""
        target = entry.redirect
        if target is None:
            return below
        if target.startswith("/"):
            relative = target.lstrip("/")
            return [(i, os.path.join(self.layers[i], relative)) for i in range(index + 1, len(self.layers))]
        return [(i, os.path.join(os.path.dirname(location), target)) for i, location in below]


def walk_merged(stack: LayerStack, directory: View) -> Iterable[View]:
    """Every existing path under the merged ``directory``, depth first, parents before children."""
    for view in stack.children(directory):
        if not view.exists:
            continue
        yield view
        if view.is_dir:
            yield from walk_merged(stack, view)
