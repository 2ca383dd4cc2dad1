"""A COPY to a path the layers below do not have: written without overlay, and reused on new layers.

A COPY's cache key covers the layers below it, so changing one small file
early in a Dockerfile re-runs every later COPY, however big. Yet a COPY to a
path the image does not have yet writes the same files whatever lies below;
only the directories above the destination take part: overlayfs copies them
up, with their mode and owner, into the step's upper dir. ``copy_facts``
records exactly that (and refuses when the destination, or a symlink or
file on the way to it, exists below: the copy's result then depends on it).

Such a COPY is written straight into the step's upper dir (``copy_directly``):
the directories above the target are made there as overlayfs would copy them
up, and nothing below can be shadowed, since the target is new. That skips
the overlay mount and its per-file lookups in every lower layer.

A COPY whose sources, instruction and facts match a layer made on other
layers reuses it (the cache index keeps it under a second key that leaves the
parent out): the new snapshot is filled with hard links to the files of the
snapshot that layer was committed as (snapshots are never modified, and
overlayfs copies a lower file up before any write), and its directories and
symlinks are recreated with the same metadata. The layer blob, its diff id
and its history time are the old ones: the only difference a fresh copy
would make is the modification time of the copied-up directories.
"""

from __future__ import annotations

import os
import stat

from dockpy.layers.layerstack import OVERLAY_XATTR_NAMESPACES, LayerStack
from dockpy.layers.whiteouts import is_overlay_whiteout


def copy_facts(layer_dirs: list[str], target: str) -> list | None:
    """The directories above ``target`` as the layers show them; None if ``target`` exists or a parent is not a dir."""
    stack = LayerStack(layer_dirs)
    view = stack.root()
    facts: list = []
    names = [name for name in target.split("/") if name]
    for position, name in enumerate(names):
        child = stack.lookup(view, name) if view is not None else None
        if child is None or not child.exists:
            return facts + [[name, "absent"]]
        if position == len(names) - 1 or not child.is_dir:
            return None
        st = child.entry.stat
        facts.append([name, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid])
        view = child
    return None


def make_upper_ancestors(upper: str, layer_dirs: list[str], target: str) -> None:
    """Create in ``upper`` the directories above ``target`` that exist below, as overlayfs copies them up."""
    stack = LayerStack(layer_dirs)
    view = stack.root()
    path = ""
    for name in [name for name in target.split("/") if name][:-1]:
        view = stack.lookup(view, name) if view is not None else None
        if view is None or not view.exists:
            return
        path = f"{path}/{name}"
        host_path = upper + path
        if not os.path.isdir(host_path):
            os.mkdir(host_path)
            _copy_directory_metadata(str(view.entry.path), host_path, skip_overlay=True)


def target_is_directory(layer_dirs: list[str], path: str) -> bool:
    """Whether ``path`` is a directory in the layers (symlinks are not followed)."""
    stack = LayerStack(layer_dirs)
    view = stack.root()
    for name in filter(None, path.split("/")):
        view = stack.lookup(view, name) if view is not None else None
        if view is None or not view.exists:
            return False
    return view is not None and view.is_dir


def clone_layer_directory(source: str, target: str) -> None:
    """Fill the empty ``target`` with ``source``'s tree: hard links to its files, copies of the rest."""
    for name in sorted(os.listdir(source)):
        _clone_entry(os.path.join(source, name), os.path.join(target, name))
    _copy_directory_metadata(source, target)


def _clone_entry(source: str, target: str) -> None:
    st = os.lstat(source)
    if stat.S_ISDIR(st.st_mode):
        os.mkdir(target)
        for name in sorted(os.listdir(source)):
            _clone_entry(os.path.join(source, name), os.path.join(target, name))
        _copy_directory_metadata(source, target)
    elif stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(source), target)
        os.lchown(target, st.st_uid, st.st_gid)
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    elif is_overlay_whiteout(st) or not stat.S_ISREG(st.st_mode):
        os.mknod(target, st.st_mode, st.st_rdev)
        os.chown(target, st.st_uid, st.st_gid)
    else:
        os.link(source, target)


def _copy_directory_metadata(source: str, target: str, *, skip_overlay: bool = False) -> None:
    st = os.lstat(source)
    os.chown(target, st.st_uid, st.st_gid)
    os.chmod(target, stat.S_IMODE(st.st_mode))
    for name in os.listxattr(source, follow_symlinks=False):
        if skip_overlay and name.startswith(OVERLAY_XATTR_NAMESPACES):
            continue
        os.setxattr(target, name, os.getxattr(source, name, follow_symlinks=False), follow_symlinks=False)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
