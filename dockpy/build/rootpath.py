"""Paths inside an image's root filesystem, resolved as if that root were ``/``.

A COPY destination like ``/bin/tool`` where the image has ``/bin -> usr/bin``
must land in ``/usr/bin/tool``; a symlink ``/app -> /`` or ``../../..`` must
never lead out of the root onto the host. ``resolve_in_root`` walks the path
one component at a time, reading symlinks itself and interpreting their
targets inside the root (absolute targets start again at the root, ``..``
stops at it), like ``filepath-securejoin`` or ``openat2(RESOLVE_IN_ROOT)``.
"""

from __future__ import annotations

import os
import posixpath

from dockpy.errors import InvalidInputError

MAX_SYMLINK_HOPS = 40


def resolve_in_root(root: str, path: str, *, follow_last: bool = True) -> str:
    """The host path of ``path`` inside ``root``; components that do not exist are appended as they are."""
    resolved: list[str] = []
    pending = [part for part in path.split("/") if part]
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        is_last = not pending
        if os.path.islink(candidate) and (follow_last or not is_last):
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise InvalidInputError(f"{path}: too many levels of symbolic links in the image")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            pending = [p for p in target.split("/") if p] + pending
            continue
        resolved.append(part)
    return os.path.join(root, *resolved)


def clean_absolute(path: str, working_dir: str = "/") -> str:
    """``path`` made absolute against ``working_dir`` and cleaned (a trailing slash is dropped)."""
    cleaned = posixpath.normpath(posixpath.join(working_dir, path or "."))
    return "/" + cleaned.lstrip("/")
