"""Container records: a row in the metadata database plus a directory under ``containers/<id>/``.

::

    containers/<id>/upper/        the container's writable layer (its changes: diff and commit read it)
    containers/<id>/work/         overlayfs's scratch dir
    containers/<id>/merged/       the root's mount point (mounted only inside the container)
    containers/<id>/hosts, hostname, resolv.conf   the files bound on /etc/...
    containers/<id>/config.json   the ContainerSpec the backend executes
    containers/<id>/log           stdout and stderr of a detached container
    containers/<id>/ports.json    where its published ports listen, since its last start

A record's ``state`` is what the owner of the container (the monitor) last
wrote. Every process is stored with its start time: a pid alone may have
been reused after a crash, and ``current_state`` checks both.

Records are namedtuples, as the runtime's spec (see ``spec``): ``dockpy run``
must not pay for ``dataclasses``.
"""

from __future__ import annotations

import json
import os
import time
from collections import namedtuple

from dockpy.errors import ConflictError, NotFoundError
from dockpy.root import CONTAINERS, DATABASE, StorageRoot

# typing.TYPE_CHECKING without importing typing (type checkers read any constant of this name as it).
TYPE_CHECKING = False
if TYPE_CHECKING:  # the spec and the image holds are imported where they are used: ps needs neither
    from dockpy.runtime.spec import ContainerSpec

SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image TEXT NOT NULL,
    image_id TEXT NOT NULL,
    command TEXT NOT NULL,
    created REAL NOT NULL,
    state TEXT NOT NULL,
    pid INTEGER,
    pid_start INTEGER,
    monitor_pid INTEGER,
    monitor_start INTEGER,
    exit_code INTEGER,
    started REAL,
    finished REAL,
    auto_remove INTEGER NOT NULL DEFAULT 0,
    detached INTEGER NOT NULL DEFAULT 0
)
"""
CREATED, RUNNING, EXITED = "created", "running", "exited"
# The exit code recorded for a container whose monitor vanished without recording one.
LOST_EXIT_CODE = 255


_ContainerRecordFields = namedtuple(
    "ContainerRecord",
    "id name image image_id command created state pid pid_start monitor_pid monitor_start exit_code started finished "
    "auto_remove detached",
    defaults=(CREATED, None, None, None, None, None, None, None, False, False),
)


class ContainerRecord(_ContainerRecordFields):
    """One container, as the database holds it.

    ``command`` is the program's argv (tuple of str); ``created``, ``started``
    and ``finished`` are Unix times; each pid (int or None) comes with its
    process's start time (``process_start_time``); ``state`` is one of
    ``CREATED``, ``RUNNING``, ``EXITED``.
    """

    __slots__ = ()

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def is_running(self) -> bool:
        return self.state == RUNNING

    def to_json(self) -> dict:
        return self._asdict()


class ContainerPaths(namedtuple("ContainerPaths", "directory")):
    """The files of one container under the storage root: ``directory`` and each path below, str (see ``root``)."""

    __slots__ = ()

    @property
    def upper(self) -> str:
        return os.path.join(self.directory, "upper")

    @property
    def work(self) -> str:
        return os.path.join(self.directory, "work")

    @property
    def merged(self) -> str:
        return os.path.join(self.directory, "merged")

    @property
    def config(self) -> str:
        return os.path.join(self.directory, "config.json")

    @property
    def log(self) -> str:
        return os.path.join(self.directory, "log")

    @property
    def ports(self) -> str:
        return os.path.join(self.directory, "ports.json")

    def etc_file(self, name: str) -> str:
        """``hosts``, ``hostname`` or ``resolv.conf``: the file bound on /etc/<name>."""
        return os.path.join(self.directory, name)


class ContainerStore:
    """The containers of one storage root: records, lookups by id, prefix or name, and directories."""

    def __init__(self, root: StorageRoot):
        self.root = root
        self._connection = None
        # Each container's config.json by id: written once at create, so what was written or read stays true.
        self._configs: dict[str, dict] = {}

    @property
    def connection(self):
        """The database, with the containers table (and the image catalog a container holds its image in): for writes."""
        connection = self.database
        if not {"containers", "image"} <= connection.ensured_schemas:
            from dockpy.image.catalog import SCHEMA as IMAGE_SCHEMA
            from dockpy.metadata import ensure_schema

            ensure_schema(connection, "image", IMAGE_SCHEMA)  # gc_roots: where a container holds its image
            ensure_schema(connection, "containers", SCHEMA)
        return connection

    def _query(self, sql: str, parameters: tuple = ()) -> list:
        """Rows of a read; a root that never had a container has no table, and reading must not make one."""
        if self._connection is None and not os.path.exists(self.root.join(DATABASE)):
            return []
        connection = self.database
        if "containers" not in connection.ensured_schemas:
            exists = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'containers'")
            if exists.fetchone() is None:
                return []
            connection.ensured_schemas.add("containers")
        return connection.execute(sql, parameters).fetchall()

    @property
    def database(self):
        """The root's database, opened on first use; ``run`` looks its image up through it too (one connection)."""
        if self._connection is None:
            from dockpy.metadata import open_database

            self._connection = open_database(self.root)
        return self._connection

    def close(self) -> None:
        """Close the database connection (a forked monitor must open its own)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def paths(self, container_id: str) -> ContainerPaths:
        return ContainerPaths(self.root.join(CONTAINERS, container_id))

    def config_of(self, record: ContainerRecord) -> dict:
        """The container's config.json, as ``create`` wrote it: ``spec``, ``image_config``, ``isolation``, ``entrypoint``, ``cmd``."""
        config = self._configs.get(record.id)
        if config is None:
            with open(self.paths(record.id).config) as file:
                config = self._configs[record.id] = json.load(file)
        return config

    def labels_of(self, record: ContainerRecord) -> dict:
        return recorded_labels(self.config_of(record))

    def write_config(self, container_id: str, config: dict) -> None:
        """Write the container's config.json (once, at create)."""
        with open(self.paths(container_id).config, "w") as file:
            file.write(json.dumps(config))
        self._configs[container_id] = config

    def write_published_ports(self, container_id: str, bindings) -> None:
        """Where a starting container's ports listen (``PortBinding``s with their real address and port)."""
        from dockpy.runtime.ports import bindings_to_json

        with open(self.paths(container_id).ports, "w") as file:
            file.write(json.dumps(bindings_to_json(bindings)))

    def published_ports(self, record: ContainerRecord) -> tuple:
        """The ``PortBinding``s a running container listens on; none for any other."""
        if not record.is_running:
            return ()
        from dockpy.runtime.ports import bindings_from_json

        try:
            with open(self.paths(record.id).ports) as file:
                return bindings_from_json(json.load(file))
        except FileNotFoundError:
            return ()

    def spec_of(self, record: ContainerRecord) -> ContainerSpec:
        """What the container runs; ``diff`` and ``commit`` need no more than this and the record."""
        from dockpy.runtime.spec import spec_from_json

        return spec_from_json(self.config_of(record)["spec"])

    def add(self, record: ContainerRecord) -> None:
        """Insert the record; in the same transaction the container starts holding its image (see ``images``)."""
        import sqlite3

        from dockpy.runtime.images import hold_image, holding_images

        values = _to_row(record)
        columns = ", ".join(values)
        try:
            with holding_images(self.root, record.image_id), _transaction(self.connection) as db:
                db.execute(f"INSERT INTO containers ({columns}) VALUES ({', '.join('?' * len(values))})", tuple(values.values()))
                if record.image_id:
                    hold_image(db, record.id, record.image_id)
        except sqlite3.IntegrityError as error:
            raise ConflictError(f'the container name "{record.name}" is already in use') from error

    def update(self, container_id: str, **changes) -> None:
        values = _to_row(changes)
        assignments = ", ".join(f"{name} = ?" for name in values)
        with _transaction(self.connection):
            self.connection.execute(f"UPDATE containers SET {assignments} WHERE id = ?", (*values.values(), container_id))

    def delete(self, record: ContainerRecord) -> None:
        """The record and its image hold (one transaction), then the directory: a crash leaves only files."""
        from dockpy.runtime.images import release_image

        with _transaction(self.connection) as db:
            db.execute("DELETE FROM containers WHERE id = ?", (record.id,))
            if record.image_id:
                release_image(db, record.id)
        remove_container_directory(self.paths(record.id).directory)

    def get(self, reference: str) -> ContainerRecord:
        """By full id, unique id prefix or name (Docker's order)."""
        rows = self._query(
            "SELECT * FROM containers WHERE id = ? OR name = ? OR id LIKE ? ORDER BY id = ? DESC, name = ? DESC",
            (reference, reference, _like_prefix(reference), reference, reference),
        )
        exact = [row for row in rows if reference in (row["id"], row["name"])]
        if exact:
            return self._current(_from_row(exact[0]))
        if len(rows) > 1:
            raise ConflictError(f"multiple containers match the prefix {reference!r}; give more of the id")
        if not rows:
            raise NotFoundError(f"no such container: {reference}")
        return self._current(_from_row(rows[0]))

    def list(self) -> list[ContainerRecord]:
        rows = self._query("SELECT * FROM containers ORDER BY created DESC")
        return [self._current(_from_row(row)) for row in rows]

    def name_in_use(self, name: str) -> bool:
        return bool(self._query("SELECT 1 FROM containers WHERE name = ?", (name,)))

    def exists(self, container_id: str) -> bool:
        """Whether the record of container ``container_id`` (a full id) is committed."""
        return bool(self._query("SELECT 1 FROM containers WHERE id = ?", (container_id,)))

    def _current(self, record: ContainerRecord) -> ContainerRecord:
        """A running record whose monitor and PID 1 both vanished is exited, with an unknown code."""
        if record.state != RUNNING:
            return record
        if process_alive(record.monitor_pid, record.monitor_start) or process_alive(record.pid, record.pid_start):
            return record
        lost = {"state": EXITED, "exit_code": LOST_EXIT_CODE, "finished": time.time()}
        self.update(record.id, **lost)
        return record._replace(**lost)


def remove_container_directory(directory: str) -> None:
    """Remove a container's directory, whatever the container left in it.

    Most containers leave dockpy's files and a few directories, nearly all
    empty (``work/work/incompat/volatile/dirty``, a volatile overlay's marker, is
    the deepest): those go with plain unlink and rmdir, five levels down,
    and only a deeper tree needs ``shutil.rmtree``,
    whose import alone (bz2, lzma, threading) would cost ``run --rm`` more
    than the removal. Entries are never followed through symlinks.
    """
    try:
        _remove_entries(directory, levels=5)
        os.rmdir(directory)
    except FileNotFoundError:
        pass
    except OSError:  # a directory with more inside than five levels (a container's changes)
        import shutil

        shutil.rmtree(directory, ignore_errors=True)


def _remove_entries(directory: str, levels: int) -> None:
    with os.scandir(directory) as entries:
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)
                continue
            if levels > 1:
                _remove_entries(entry.path, levels - 1)
            os.rmdir(entry.path)  # OSError (not empty) when there is more below


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (clock ticks since boot), None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            stat = file.read()
    except FileNotFoundError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return int(stat[stat.rindex(b")") + 2 :].split()[19])


def process_alive(pid: int | None, start_time: int | None) -> bool:
    return pid is not None and process_start_time(pid) == start_time


def _transaction(connection):
    from dockpy.metadata import transaction

    return transaction(connection)


def _like_prefix(reference: str) -> str:
    return reference.replace("%", "").replace("_", "") + "%" if reference else ""


def _to_row(values) -> dict:
    row = values.to_json() if isinstance(values, ContainerRecord) else dict(values)
    if "command" in row:
        row["command"] = json.dumps(list(row["command"]))
    return row


def _from_row(row) -> ContainerRecord:
    values = dict(row)
    values["command"] = tuple(json.loads(values["command"]))
    values["auto_remove"] = bool(values["auto_remove"])
    values["detached"] = bool(values["detached"])
    return ContainerRecord(**values)


def new_container_id() -> str:
    return os.urandom(32).hex()


def recorded_labels(config: dict) -> dict:
    """A container's ``Config.Labels`` from its config.json: the image's with ``-l``/``--label-file`` over
    them, as ``create`` recorded them when such a flag was given; otherwise the image's."""
    labels = config.get("labels")
    return labels if labels is not None else config["image_config"].get("Labels") or {}
