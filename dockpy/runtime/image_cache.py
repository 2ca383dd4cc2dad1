"""The runtime's memo of each image it ran: its config and layer chain, by manifest digest.

Resolving an image from its blobs means reading and verifying the manifest
and the config through the OCI model, which costs ``dockpy run`` more than
starting the container does. A manifest digest fixes its config and layers
for good, so what a container needs of them (the ``config`` object of the
image config, and each layer's chain id) is written here the first time the
image is unpacked, and every later run reads one row instead.

Snapshot directories are not memoized: gc may remove a snapshot and a later
unpack makes a new one, so they are looked up in the snapshot table each
time. A row goes with its image (``ON DELETE CASCADE`` from the catalog's
``images``), so gc and ``rmi`` need not know about this table.
"""

from __future__ import annotations

import json
import sqlite3
from collections import namedtuple

from dockpy.metadata import MetadataConnection, ensure_schema

SCHEMA = """
CREATE TABLE IF NOT EXISTS run_configs (
    manifest_digest TEXT PRIMARY KEY REFERENCES images (manifest_digest) ON DELETE CASCADE,
    image_id TEXT NOT NULL,
    config TEXT NOT NULL,
    chain_ids TEXT NOT NULL
) WITHOUT ROWID
"""


class RunConfig(namedtuple("RunConfig", "image_id config chain_ids")):
    """What running an image needs besides its snapshots.

    ``image_id`` is the config digest (str), ``config`` the image config's
    ``config`` object (a dict, Docker's key names), ``chain_ids`` the chain id
    of each layer, bottom first (a tuple of str).
    """

    __slots__ = ()


def cached_run_config(connection: MetadataConnection, manifest_digest: str) -> RunConfig | None:
    """The memo for ``manifest_digest``, or None if this image was never unpacked for a run."""
    ensure_schema(connection, "runtime.image_cache", SCHEMA)
    row = connection.execute(
        "SELECT image_id, config, chain_ids FROM run_configs WHERE manifest_digest = ?", (manifest_digest,)
    ).fetchone()
    if row is None:
        return None
    return RunConfig(row[0], json.loads(row[1]), tuple(json.loads(row[2])))


def remember_run_config(connection: MetadataConnection, manifest_digest: str, run_config: RunConfig) -> None:
    """Memoize ``run_config``; an image removed meanwhile (the foreign key fails) is simply not memoized."""
    ensure_schema(connection, "runtime.image_cache", SCHEMA)
    row = (manifest_digest, run_config.image_id, json.dumps(run_config.config), json.dumps(list(run_config.chain_ids)))
    try:
        connection.execute("INSERT OR IGNORE INTO run_configs VALUES (?, ?, ?, ?)", row)
    except sqlite3.IntegrityError:
        pass
