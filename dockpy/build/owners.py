"""``COPY --chown=USER[:GROUP]``: names looked up in the image's own /etc/passwd and /etc/group.

Docker's rules: numbers are used as they are; a name must exist in the
image being built (never on the host); without a group the gid is the same
number as the uid.
"""

from __future__ import annotations

from dockpy.build.rootpath import resolve_in_root
from dockpy.errors import BuildError


def chown_ids(spec: str, rootfs: str) -> tuple[int, int]:
    """The uid and gid ``spec`` names inside ``rootfs``."""
    user, _, group = spec.partition(":")
    uid = _lookup(user, rootfs, "/etc/passwd", "user")
    gid = _lookup(group, rootfs, "/etc/group", "group") if group else uid
    return uid, gid


def _lookup(name: str, rootfs: str, database: str, kind: str) -> int:
    if name.isdigit():
        return int(name)
    if not name:
        raise BuildError(f"invalid --chown: empty {kind} name")
    for fields in _records(resolve_in_root(rootfs, database)):
        if fields[0] == name and len(fields) > 2 and fields[2].isdigit():
            return int(fields[2])
    raise BuildError(f"unable to find {kind} {name}: no matching entries in {database} of the image")


def _records(path: str) -> list[list[str]]:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return [line.rstrip("\n").split(":") for line in file if line.strip() and not line.startswith("#")]
    except (FileNotFoundError, NotADirectoryError):
        return []
