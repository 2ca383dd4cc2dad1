"""Mounts as plain data, and the one place that performs them.

A snapshotter *returns* ``Mount`` values (containerd's model); whoever needs
a filesystem (the runtime, the builder, a test) passes them to ``mount_all``.
Keeping them as data lets tests inspect the options without privileges.
"""

from __future__ import annotations

import errno
import os
import re
from collections import namedtuple
from collections.abc import Sequence

from dockpy import linux

# mount(2) takes its option string in one page; longer ones need relative paths or the new mount API.
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

# overlayfs refuses more lower layers than this (OVL_MAX_STACK in the kernel's fs/overlayfs).
OVERLAY_MAX_LOWER_LAYERS = 500


class Mount(namedtuple("Mount", "type source options lowerdirs upperdir workdir", defaults=((), (), None, None))):
    """One mount: ``type`` (``overlay``, ``bind``), ``source`` and ``options`` (a tuple of str).

    For overlays, ``lowerdirs`` lists the lower layers top-most first;
    ``upperdir``/``workdir`` are set for a writable mount. A read-only bind
    has ``options == ("ro",)``. A namedtuple rather than a dataclass: a
    container's start mounts its root with it, and ``dockpy run`` must not
    pay for importing ``dataclasses``.
    """

    __slots__ = ()

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

    def paths(self) -> list[str]:
        """Every directory an overlay names: its lower dirs, upper dir and work dir."""
        return [*self.lowerdirs, *(p for p in (self.upperdir, self.workdir) if p)]

    def relative_to(self, base: str | os.PathLike) -> "Mount":
        """The same overlay with its paths relative to ``base`` (to be mounted from there)."""

        def relative(path: str | None) -> str | None:
            return None if path is None else os.path.relpath(path, base)

        return self._replace(
            lowerdirs=tuple(os.path.relpath(p, base) for p in self.lowerdirs),
            upperdir=relative(self.upperdir),
            workdir=relative(self.workdir),
        )


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


def unmount_all_below(directory: str | os.PathLike) -> None:
    """Detach every mount on or under ``directory`` (what a killed process left mounted).

    Removing a directory tree with mounts in it would delete through them;
    whoever removes a tree a process may have mounted things in calls this
    first. The newest mount goes first (it may cover older ones), and the
    list is read again after each: detaching a mount takes those below it along.
    """
    while points := mount_points_below(directory):
        unmount(points[0])


def mount_points_below(directory: str | os.PathLike) -> list[str]:
    """Mount points on or under ``directory`` in this mount namespace, newest first (stacked ones repeated)."""
    top = os.path.abspath(directory)
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as mountinfo:
        points = [_unescape_mountinfo(line.split(" ", 5)[4]) for line in mountinfo]
    return [point for point in reversed(points) if point == top or point.startswith(top + "/")]


def _unescape_mountinfo(field: str) -> str:
    """The kernel writes space, tab, newline and backslash in mountinfo as octal escapes (``\\040``)."""
    if "\\" not in field:
        return field
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match[1], 8)), field)


def _mount_overlay(spec: Mount, target) -> None:
    """Mount an overlay, keeping its option string under one page.

    Three ways, cheapest first: the absolute option string; the same paths made
    relative to their common directory and mounted from a thread that chdir'ed
    there (containerd's trick, works on every kernel); and the new mount API
    with one ``lowerdir+`` per layer (Linux 6.8+, no length limit at all).
    """
    if len(spec.overlay_data()) < PAGE_SIZE:
        linux.mount("overlay", target, "overlay", 0, spec.overlay_data())
        return
    base = os.path.commonpath(spec.paths())
    if len(spec.relative_to(base).overlay_data()) < PAGE_SIZE:
        mount_overlay_relative(spec, target, base)
    else:
        mount_overlay_per_layer(spec, target)


def mount_overlay_relative(spec: Mount, target: str | os.PathLike, base: str | os.PathLike) -> None:
    """Mount ``spec`` with every path relative to ``base``, which must contain them all.

    Snapshot dirs are ``<root>/snapshots/<n>/fs``, so relative to
    ``<root>/snapshots`` a layer costs about eight characters: 400 layers fit in a page.
    """
    data = spec.relative_to(base).overlay_data()
    target = os.path.abspath(target)
    linux.call_in_directory(base, lambda: linux.mount("overlay", target, "overlay", 0, data))


def mount_overlay_per_layer(spec: Mount, target: str | os.PathLike) -> None:
    """Mount ``spec`` with the new mount API, handing each lower layer over separately."""
    options: list[tuple[str, str | None]] = [("lowerdir+", path) for path in spec.lowerdirs]
    if spec.upperdir:
        options += [("upperdir", spec.upperdir), ("workdir", spec.workdir or "")]
    for option in spec.options:
        key, _, value = option.partition("=")
        options.append((key, value or None))
    try:
        linux.mount_filesystem("overlay", target, options)
    except OSError as error:
        if error.errno != errno.EINVAL:
            raise
        raise OSError(
            error.errno,
            f"overlay of {len(spec.lowerdirs)} layers: its options exceed one page even with relative "
            f"paths, and the kernel refused them one by one (lowerdir+ needs Linux 6.8): {error.strerror}",
            os.fspath(target),
        ) from error


def _mount_bind(spec: Mount, target) -> None:
    linux.mount(spec.source, target, None, linux.MS_BIND | linux.MS_REC)
    if "ro" in spec.options:
        linux.mount(None, target, None, linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY | linux.MS_REC)


def _escape_overlay_path(path: str) -> str:
    # overlayfs splits lowerdir on ':' and options on ','; both may be escaped with '\'.
    return path.replace("\\", "\\\\").replace(":", "\\:").replace(",", "\\,")
