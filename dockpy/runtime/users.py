"""Resolving ``-u USER[:GROUP]`` in the container's own /etc/passwd and /etc/group.

The rules are runc's (which Docker uses): a name must exist in the image's
files; a number need not (it then has group 0 and home ``/``); without a
group, the user's supplementary groups are every group of /etc/group that
lists the user by name. ``--group-add`` groups are added to them in any
case (a name must exist, a number need not). Names are never looked up on the host.
"""

from __future__ import annotations

import os
from collections import namedtuple

from dockpy.errors import InvalidInputError


class ExecUser(namedtuple("ExecUser", "uid gid supplementary_gids home")):
    """The credentials (ints; ``supplementary_gids`` a tuple) and home directory the container's process runs with.

    A namedtuple, as every record on ``dockpy run``'s path (see ``spec``).
    """

    __slots__ = ()


_PasswdEntry = namedtuple("_PasswdEntry", "name uid gid home")
_GroupEntry = namedtuple("_GroupEntry", "name gid members")


def resolve_user(spec: str, root: str = "/", additional_groups: tuple[str, ...] = ()) -> ExecUser:
    """Resolve ``spec`` (``""``, ``name``, ``uid``, ``name:group``, ``uid:gid``) and ``additional_groups``
    (names or gids) inside ``root``."""
    user_part, _, group_part = spec.partition(":")
    passwd = _read_passwd(os.path.join(root, "etc/passwd"))
    entry = _find_user(user_part or "0", passwd)
    groups = _read_groups(os.path.join(root, "etc/group"))
    if group_part:
        gid = _find_group(group_part, groups)
        supplementary: tuple[int, ...] = ()
    else:
        gid = entry.gid
        supplementary = tuple(g.gid for g in groups if entry.name and entry.name in g.members and g.gid != gid)
    added = tuple(_find_group(group, groups) for group in additional_groups)
    supplementary += tuple(gid for gid in dict.fromkeys(added) if gid not in supplementary)
    return ExecUser(entry.uid, gid, supplementary, entry.home or "/")


def _find_user(user: str, passwd: list[_PasswdEntry]) -> _PasswdEntry:
    for entry in passwd:
        if entry.name == user or (user.isdigit() and entry.uid == int(user)):
            return entry
    if user.isdigit():
        return _PasswdEntry("", int(user), 0, "/")
    raise InvalidInputError(f"unable to find user {user}: no matching entries in passwd file")


def _find_group(group: str, groups: list[_GroupEntry]) -> int:
    for entry in groups:
        if entry.name == group:
            return entry.gid
    if group.isdigit():
        return int(group)
    raise InvalidInputError(f"unable to find group {group}: no matching entries in group file")


def _read_passwd(path: str) -> list[_PasswdEntry]:
    """``name:password:uid:gid:gecos:home:shell`` lines; malformed ones are skipped, as libc does."""
    entries = []
    for fields in _colon_records(path, 6):
        if fields[2].isdigit() and fields[3].isdigit():
            entries.append(_PasswdEntry(fields[0], int(fields[2]), int(fields[3]), fields[5]))
    return entries


def _read_groups(path: str) -> list[_GroupEntry]:
    """``name:password:gid:member,member`` lines."""
    entries = []
    for fields in _colon_records(path, 4):
        if fields[2].isdigit():
            members = tuple(m for m in fields[3].split(",") if m)
            entries.append(_GroupEntry(fields[0], int(fields[2]), members))
    return entries


def _colon_records(path: str, minimum_fields: int) -> list[list[str]]:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            lines = file.read().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return []
    records = [line.split(":") for line in lines if line and not line.startswith("#")]
    return [fields for fields in records if len(fields) >= minimum_fields]
