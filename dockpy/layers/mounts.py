"""Mounts as plain data, and the one place that performs them.

A snapshotter *returns* ``Mount`` values (containerd's model); whoever needs
a filesystem (the runtime, the builder, a test) passes them to ``mount_all``.
Keeping them as data lets tests inspect the options without privileges.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from dockpy import linux

# mount(2) takes its option string in one page; beyond that use the new mount API.
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Mount:
    """One mount: ``type`` (``overlay``, ``bind``), ``source`` and ``options``.

    For overlays, ``lowerdirs`` lists the lower layers top-most first;
    ``upperdir``/``workdir`` are set for a writable mount. A read-only bind
    has ``options == ("ro",)``.
    """

    type: str
    source: str
    options: tuple[str, ...] = ()
    lowerdirs: tuple[str, ...] = field(default=())
    upperdir: str | None = None
    workdir: str | None = None

    def overlay_data(self) -> str:
        """The classic comma-separated option string for mount(2)."""
        parts = []
        if self.lowerdirs:
            parts.append("lowerdir=" + ":".join(_escape_overlay_path(p) for p in self.lowerdirs))
        if self.upperdir:
            parts.append(f"upperdir={_escape_overlay_path(self.upperdir)}")
            parts.append(f"workdir={_escape_overlay_path(self.workdir or '')}")
        parts.extend(self.options)
        return ",".join(parts)


def mount_all(mounts: Sequence[Mount], target: str | os.PathLike) -> None:
    """Perform ``mounts`` on ``target``, in order."""
    for spec in mounts:
        if spec.type == "overlay":
            _mount_overlay(spec, target)
        elif spec.type == "bind":
            _mount_bind(spec, target)
        else:
            linux.mount(spec.source, target, spec.type, 0, ",".join(spec.options) or None)


def unmount(target: str | os.PathLike) -> None:
    """Detach whatever is mounted on ``target`` (lazily, so busy files do not block cleanup)."""
    linux.umount(target, linux.MNT_DETACH)


def _mount_overlay(spec: Mount, target) -> None:
    data = spec.overlay_data()
    if len(data) < PAGE_SIZE:
        linux.mount("overlay", target, "overlay", 0, data)
        return
    # Too long for one page: hand each layer over separately (Linux 6.8+ "lowerdir+").
    options: list[tuple[str, str | None]] = [("lowerdir+", path) for path in spec.lowerdirs]
    if spec.upperdir:
        options += [("upperdir", spec.upperdir), ("workdir", spec.workdir or "")]
    for option in spec.options:
        key, _, value = option.partition("=")
        options.append((key, value or None))
    linux.mount_filesystem("overlay", target, options)


def _mount_bind(spec: Mount, target) -> None:
    linux.mount(spec.source, target, None, linux.MS_BIND | linux.MS_REC)
    if "ro" in spec.options:
        linux.mount(None, target, None, linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY | linux.MS_REC)


def _escape_overlay_path(path: str) -> str:
    # overlayfs splits lowerdir on ':' and options on ','; both may be escaped with '\'.
    return path.replace("\\", "\\\\").replace(":", "\\:").replace(",", "\\,")
