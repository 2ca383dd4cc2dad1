"""Merge a stack of layer directories into one (overlayfs-tools' "merge").

The stack is read top-most first, as overlayfs reads it (``LayerStack``):
the top-most layer holding a path wins, whiteouts remove, opaque directories
hide what lies below them. The result is either

- a *plain* tree: what a container would see, with no whiteouts left (a
  rootfs to export or to use as a single bottom layer); or
- an *overlay-form* layer: one layer that, put on top of any other layers,
  shows the same as the whole stack would. Whiteouts that may hide something
  under the stack are kept, and a directory is marked opaque wherever the
  stack itself ends the merge (an opaque mark, a whiteout or file replaced by
  a directory, a redirect).

Hard links inside the stack stay hard links; owner, mode, xattrs (except the
overlay's own) and timestamps are copied. A metacopy file's bytes come from
the lower file holding them.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from dockpy.layers.layerstack import LayerEntry, LayerStack, View, make_whiteout, mark_opaque, user_xattrs


def squash(layer_dirs: Sequence[str | os.PathLike], target: str | os.PathLike, *, overlay_form: bool = False) -> None:
    """Write what ``layer_dirs`` (top-most first) show into ``target`` (created, or empty)."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    stack = LayerStack(layer_dirs)
    root = stack.root()
    if root is not None:
        squasher = _Squash(stack, overlay_form)
        squasher.directory(root, target)
        squasher.finish_directory(root, target)


class _Squash:
    def __init__(self, stack: LayerStack, overlay_form: bool):
        self.stack = stack
        self.overlay_form = overlay_form
        self.copied_inodes: dict[tuple[int, int], Path] = {}

    def directory(self, directory: View, target: Path) -> None:
        for view in self.stack.children(directory):
            destination = target / view.name
            if not view.exists:
                # Under a directory that hides below, a whiteout has nothing left to hide.
                if self.overlay_form and not directory.hides_below:
                    make_whiteout(destination)
            elif view.is_dir:
                os.mkdir(destination)
                self.directory(view, destination)
                self.finish_directory(view, destination)
            else:
                self.file(view, destination)

    def finish_directory(self, view: View, destination: Path) -> None:
        """Metadata goes on after the children, so creating them does not move the mtime."""
        if self.overlay_form and view.hides_below:
            mark_opaque(destination)
        copy_metadata(view.entry, destination)

    def file(self, view: View, destination: Path) -> None:
        entry = view.entry
        inode = (entry.stat.st_dev, entry.stat.st_ino)
        if inode in self.copied_inodes:
            os.link(self.copied_inodes[inode], destination)
            return
        mode = entry.stat.st_mode
        if stat.S_ISREG(mode):
            shutil.copyfile(view.data or entry.path, destination, follow_symlinks=False)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(entry.path), destination)
        else:  # devices, fifos, sockets
            os.mknod(destination, mode, entry.stat.st_rdev)
        copy_metadata(entry, destination)
        if entry.stat.st_nlink > 1:
            self.copied_inodes[inode] = destination


def copy_metadata(entry: LayerEntry, destination: Path) -> None:
    """Owner, mode, xattrs (not the overlay's own) and timestamps of ``entry`` onto ``destination``."""
    status = entry.stat
    os.chown(destination, status.st_uid, status.st_gid, follow_symlinks=False)
    if not stat.S_ISLNK(status.st_mode):  # after chown, which clears set-id bits
        os.chmod(destination, stat.S_IMODE(status.st_mode))
    for name, value in user_xattrs(entry.path).items():
        os.setxattr(destination, name, value, follow_symlinks=False)
    os.utime(destination, ns=(status.st_atime_ns, status.st_mtime_ns), follow_symlinks=False)
