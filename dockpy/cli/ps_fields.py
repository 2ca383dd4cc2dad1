"""The fields ``dockpy ps --format TEMPLATE`` offers, named and shown as ``docker ps`` shows them.

Each is a function of one container record; ``.Label`` is a method, called
with a label's name. ``.Labels``, ``.Label``, ``.Mounts`` and
``.Networks`` read the container's config.json and ``.Size`` walks its upper
directory (and reads its image's size in the catalog), so they cost something
only in templates that use them.
``.Ports`` reads where a running container's ports are published.
"""

from __future__ import annotations

import json

from dockpy.cli.containers import ports_text, status_text
from dockpy.cli.humanize import ellipsize, go_time_text, human_age, human_size
from dockpy.cli.row_template import RowMethod

# Docker's widths when --no-trunc is not given: Ellipsis(command, 20), Ellipsis(mount name, 15).
COMMAND_WIDTH = 20
MOUNT_NAME_WIDTH = 15
# ``table TEMPLATE``'s column names that are not the field's name in capitals.
HEADERS = {"ID": "CONTAINER ID", "CreatedAt": "CREATED AT", "RunningFor": "CREATED"}


def container_fields(store, no_trunc: bool = False) -> dict:
    """Field name -> function of a ``ContainerRecord`` of ``store`` (a ``ContainerStore``)."""
    return {
        "ID": lambda record: record.id if no_trunc else record.short_id,
        "Image": lambda record: record.image,
        "Command": lambda record: quoted_command(record.command, no_trunc),
        "CreatedAt": lambda record: go_time_text(record.created),
        "RunningFor": lambda record: human_age(record.created),
        "State": lambda record: record.state,
        "Status": status_text,
        "Names": lambda record: record.name,
        "Labels": lambda record: labels_text(store.labels_of(record)),
        "Label": RowMethod(lambda record, name: store.labels_of(record).get(name, ""), label_header),
        "Mounts": lambda record: mounts_text(store, record, no_trunc),
        "Ports": lambda record: ports_text(store, record),
        "Networks": lambda record: store.spec_of(record).network,
        "Size": lambda record: size_text(store, record),
    }


def size_text(store, record) -> str:
    """Docker's SIZE: what the container wrote, ``5B (virtual 4.27MB)`` with its image's size as ``images`` shows it."""
    written, total = sizes_of(store, record)
    return f"{human_size(written)} (virtual {human_size(total)})" if total > written else human_size(written)


def sizes_of(store, record) -> tuple[int, int]:
    """Bytes in the container's upper directory, and those plus its image's (Docker's SizeRw and SizeRootFs)."""
    from dockpy.layers.tree_size import tree_size  # here: only `.Size` and `ps -s` walk a tree

    written = tree_size(store.paths(record.id).upper)
    return written, written + image_size(store, record.image_id)


def image_size(store, image_id: str) -> int:
    """The catalog's size of the image (0 when it is gone or unknown): one indexed row, no blob read."""
    if not image_id:
        return 0
    row = store.database.execute("SELECT size FROM images WHERE image_id = ? LIMIT 1", (image_id,)).fetchone()
    return row[0] if row else 0


def quoted_command(command, no_trunc: bool) -> str:
    """The argv joined by spaces, cut to 20 characters, in double quotes (Go's strconv.Quote)."""
    return json.dumps(ellipsize(" ".join(command), COMMAND_WIDTH, no_trunc), ensure_ascii=False)


def label_header(name: str) -> str:
    """Docker's column name for ``.Label NAME``: the last dot-separated part, ``-`` and ``_`` as spaces."""
    return name.rsplit(".", 1)[-1].replace("-", " ").replace("_", " ")


def labels_text(labels: dict) -> str:
    """``a=1,b=2``, sorted (Docker joins them in Go's random map order)."""
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def mounts_text(store, record, no_trunc: bool) -> str:
    """The ``-v`` sources, comma separated: Docker shows a bind mount by its source."""
    from dockpy.runtime.inspection import user_volumes

    volumes = user_volumes(store.spec_of(record), store.paths(record.id))
    return ",".join(ellipsize(volume.source, MOUNT_NAME_WIDTH, no_trunc) for volume in volumes)
