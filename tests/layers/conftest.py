"""Fixtures for tests that build layer trees and mount overlays on them.

Trees are written from dicts (``{"etc/hosts": "text", "etc": DIR, "old": WHITEOUT}``)
and read back the same way, so a test states a whole filesystem in one line.
Every mount a test makes through ``mounts`` is undone in teardown.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from dockpy.layers.layerstack import is_whiteout_stat, make_whiteout, mark_opaque, overlay_xattrs
from dockpy.layers.mounts import Mount, mount_all, unmount
from dockpy.layers.snapshots import OVERLAY_OPTIONS

DIR = "<dir>"
OPAQUE_DIR = "<opaque dir>"
WHITEOUT = "<whiteout>"
SYMLINK = "-> "  # "-> target" makes a symlink


def write_tree(root: Path, entries: dict[str, str]) -> Path:
    """Create ``entries`` (path → content, DIR, OPAQUE_DIR, WHITEOUT or "-> target") under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for relative, content in sorted(entries.items()):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if content in (DIR, OPAQUE_DIR):
            path.mkdir(exist_ok=True)
            if content == OPAQUE_DIR:
                mark_opaque(path)
        elif content == WHITEOUT:
            make_whiteout(path)
        elif content.startswith(SYMLINK):
            os.symlink(content[len(SYMLINK) :], path)
        else:
            path.write_text(content)
    return root


def read_tree(root: Path) -> dict[str, str]:
    """The inverse of ``write_tree``: every entry under ``root``."""
    found = {}
    for parent, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(parent, name)
            relative = str(path.relative_to(root))
            status = os.lstat(path)
            if path.is_symlink():
                found[relative] = SYMLINK + os.readlink(path)
            elif path.is_dir():
                found[relative] = OPAQUE_DIR if overlay_xattrs(path).get("opaque") == b"y" else DIR
            elif is_whiteout_stat(status):
                found[relative] = WHITEOUT
            else:
                found[relative] = path.read_text()
    return found


class Mounts:
    """Mounts made by one test; whatever is still mounted at teardown is unmounted."""

    def __init__(self):
        self.targets: list[Path] = []

    def mount(self, mounts: Sequence[Mount], target: Path) -> Path:
        target.mkdir(parents=True, exist_ok=True)
        mount_all(mounts, target)
        self.targets.append(target)
        return target

    def unmount(self, target: Path) -> None:
        unmount(target)
        self.targets.remove(target)

    def unmount_all(self) -> None:
        for target in reversed(self.targets):
            unmount(target)
        self.targets.clear()


@pytest.fixture
def mounts():
    tracker = Mounts()
    yield tracker
    tracker.unmount_all()


@pytest.fixture
def overlay_change(tmp_path, mounts) -> Callable:
    """Make an upper dir the real way: mount lowers + empty upper, ``modify(merged)``, unmount.

    Returns ``(upper_dir, lower_dirs)``; ``lowers`` are tree dicts, top-most first.
    """
    counter = iter(range(1000))

    def change(lowers: Sequence[dict], modify: Callable[[Path], None], options=OVERLAY_OPTIONS):
        case = tmp_path / f"case{next(counter)}"
        lower_dirs = [write_tree(case / f"lower{i}", tree) for i, tree in enumerate(lowers)]
        upper, work = case / "upper", case / "work"
        upper.mkdir()
        work.mkdir()
        spec = Mount("overlay", "overlay", tuple(options), tuple(map(str, lower_dirs)), str(upper), str(work))
        merged = mounts.mount([spec], case / "merged")
        try:
            modify(merged)
        finally:
            mounts.unmount(merged)
        return upper, lower_dirs

    return change


def writeback_threads() -> list[threading.Thread]:
    """The blob writeback threads (``BackgroundDataSync``) alive now."""
    return [thread for thread in threading.enumerate() if thread.name == "dockpy-blob-writeback"]


@pytest.fixture
def failing_fdatasync(monkeypatch) -> threading.Event:
    """``os.fdatasync`` fails with EIO; the event is set once a sync was tried."""
    failed = threading.Event()

    def fail(fd):
        failed.set()
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", fail)
    return failed
