"""Where a dockpy storage root keeps each kind of thing (../DESIGN.md §3).

::

    <root>/blobs/sha256/<hex>        content store: layers, configs, manifests
    <root>/snapshots/<n>/fs          one unpacked layer each (short names keep overlay options short)
    <root>/containers/<id>/          a container's upper, work and merged dirs
    <root>/init/                     mount points every container's root needs (the shared init layer)
    <root>/tmp/                      ingest and scratch space on the same filesystem (renames stay atomic)
    <root>/metadata.db               SQLite: tags, revisions, containers, cache index, snapshots
"""

from __future__ import annotations

import os
from collections import namedtuple
from pathlib import Path

ROOT_ENV = "DOCKPY_ROOT"


class StorageRoot(namedtuple("StorageRoot", "path")):
    """The directory layout of one dockpy storage root.

    An immutable record like a frozen dataclass, but a namedtuple: ``dockpy
    images`` must start without importing ``dataclasses`` (and ``inspect``).
    """

    __slots__ = ()

    @classmethod
    def default(cls) -> "StorageRoot":
        """``$DOCKPY_ROOT``, else /var/lib/dockpy for root, else ~/.local/share/dockpy."""
        configured = os.environ.get(ROOT_ENV)
        if configured:
            return cls(Path(configured).absolute())
        if os.geteuid() == 0:
            return cls(Path("/var/lib/dockpy"))
        data_home = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
        return cls(Path(data_home) / "dockpy")

    @property
    def blobs(self) -> Path:
        return self.path / "blobs"

    @property
    def snapshots(self) -> Path:
        return self.path / "snapshots"

    @property
    def containers(self) -> Path:
        return self.path / "containers"

    @property
    def init_layer(self) -> Path:
        return self.path / "init"

    @property
    def tmp(self) -> Path:
        return self.path / "tmp"

    @property
    def database(self) -> Path:
        return self.path / "metadata.db"

    def create(self) -> "StorageRoot":
        """Make the directories (idempotent); returns self for chaining."""
        for directory in (self.blobs / "sha256", self.snapshots, self.containers, self.tmp):
            directory.mkdir(parents=True, exist_ok=True)
        return self
