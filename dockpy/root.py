"""Where a dockpy storage root keeps each kind of thing (../DESIGN.md §3).

::

    <root>/blobs/sha256/<hex>        content store: layers, configs, manifests
    <root>/snapshots/<n>/fs          one unpacked layer each (short names keep overlay options short)
    <root>/containers/<id>/          a container's upper, work and merged dirs
    <root>/init/                     mount points every container's root needs (the shared init layer)
    <root>/tmp/                      ingest and scratch space on the same filesystem (renames stay atomic)
    <root>/metadata.db               SQLite: tags, revisions, containers, cache index, snapshots

Each entry is named once, below. ``StorageRoot`` gives it as a ``Path``
(``root.blobs``) to code that works with files, and as a ``str``
(``root.join(CONTAINERS, id)``) to the code every ``run``, ``ps`` or
``images`` goes through: importing ``pathlib`` (which imports
``urllib.parse``, ``ipaddress``, ``fnmatch`` and ``ntpath``) cost each
command ~4 ms, more than any of dockpy's own modules.
"""

from __future__ import annotations

import os
from collections import namedtuple

# typing.TYPE_CHECKING without importing typing (type checkers read any constant of this name as it).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

ROOT_ENV = "DOCKPY_ROOT"
BLOBS = "blobs"
SNAPSHOTS = "snapshots"
CONTAINERS = "containers"
INIT_LAYER = "init"
TMP = "tmp"
DATABASE = "metadata.db"


class StorageRoot(namedtuple("StorageRoot", "directory")):
    """The directory layout of one dockpy storage root; ``directory`` is its path (a str; a Path is converted).

    An immutable record like a frozen dataclass, but a namedtuple: ``dockpy
    images`` must start without importing ``dataclasses`` (and ``inspect``).
    """

    __slots__ = ()

    def __new__(cls, directory: str | os.PathLike):
        return super().__new__(cls, os.fspath(directory))

    @classmethod
    def default(cls) -> "StorageRoot":
        """``$DOCKPY_ROOT``, else /var/lib/dockpy for root, else ~/.local/share/dockpy."""
        configured = os.environ.get(ROOT_ENV)
        if configured:
            return cls(os.path.abspath(configured))
        if os.geteuid() == 0:
            return cls("/var/lib/dockpy")
        data_home = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
        return cls(os.path.join(data_home, "dockpy"))

    def join(self, *names: str) -> str:
        """The path of ``names`` (``CONTAINERS, container_id``) under the root, as a str."""
        return os.path.join(self.directory, *names)

    @property
    def path(self) -> Path:
        from pathlib import Path

        return Path(self.directory)

    @property
    def blobs(self) -> Path:
        return self.path / BLOBS

    @property
    def snapshots(self) -> Path:
        return self.path / SNAPSHOTS

    @property
    def containers(self) -> Path:
        return self.path / CONTAINERS

    @property
    def tmp(self) -> Path:
        return self.path / TMP

    @property
    def database(self) -> Path:
        return self.path / DATABASE

    def create(self) -> "StorageRoot":
        """Make the directories (idempotent); returns self for chaining."""
        for names in ((BLOBS, "sha256"), (SNAPSHOTS,), (CONTAINERS,), (TMP,)):
            os.makedirs(self.join(*names), exist_ok=True)
        return self
