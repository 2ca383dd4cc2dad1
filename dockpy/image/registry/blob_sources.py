"""Which repositories of a registry are known to hold a blob: those it was pulled from or pushed to.

A push to another repository of the same registry then asks the registry to
mount the blob from one of them (``POST .../blobs/uploads/?mount=DIGEST&from=REPO``)
instead of uploading it again, as Docker and skopeo do. In a CI fleet that
pushes images sharing base layers into many repositories, that saves most
of each upload. A remembered source may be stale (the repository deleted,
or no pull right on it): the registry then opens a normal upload session
instead, and the blob is uploaded as if nothing had been known.

The table belongs to the storage root's metadata database. Its rows outlive
blobs that gc deletes; they are only ever asked about blobs being pushed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from dockpy.layers.digests import Digest
from dockpy.metadata import MetadataConnection, ensure_schema, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS registry_blob_sources (
    digest TEXT NOT NULL,
    registry TEXT NOT NULL,
    repository TEXT NOT NULL,
    seen REAL NOT NULL,
    PRIMARY KEY (digest, registry, repository)
) WITHOUT ROWID
"""


def remember(db: MetadataConnection, registry: str, repository: str, digests: Iterable[Digest]) -> None:
    """Record that ``registry``'s ``repository`` holds each of ``digests`` (now)."""
    ensure_schema(db, "registry_blob_sources", _SCHEMA)
    now = time.time()
    with transaction(db):
        db.executemany("INSERT OR REPLACE INTO registry_blob_sources VALUES (?, ?, ?, ?)",
                       [(str(digest), registry, repository, now) for digest in digests])


def known_repositories(db: MetadataConnection, registry: str, digests: Iterable[Digest]) -> dict[Digest, list[str]]:
    """For each of ``digests``, the repositories of ``registry`` known to hold it, most recently seen first."""
    ensure_schema(db, "registry_blob_sources", _SCHEMA)
    known: dict[Digest, list[str]] = {}
    for digest in digests:
        rows = db.execute("SELECT repository FROM registry_blob_sources WHERE digest = ? AND registry = ?"
                          " ORDER BY seen DESC", (str(digest), registry))
        known[digest] = [repository for (repository,) in rows]
    return known
