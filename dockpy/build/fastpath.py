"""Answering a build whose inputs are all unchanged, without building.

A rebuild where nothing changed must cost little more than starting Python.
The builder's cache would get there too, but only after parsing the
Dockerfile, hashing the context and looking up every step. Instead, each
successful build records a *fingerprint* of everything it read:

- the options (tags, build args, target, labels, network, compression, epoch),
- the Dockerfile's bytes (and the identity of ``<Dockerfile>.dockerignore``),
- the identity of every entry of the context directory (path, type, mode,
  device, inode, size, mtime_ns, ctime_ns, symlink target) and of each
  secret file: the same rule as the file digest cache, applied to the whole
  context (an ignored file that changes only costs the full path),
- and the base images it resolved by tag, with the manifest each tag
  pointed at.

When a new build has a recorded fingerprint, its image still exists, every
base tag still points where it did and every ``-t`` tag already points at
the image, the result is that image: the build would have hit the cache at
every step and produced the same config. Anything else takes the full path.
This module imports only the standard library and the catalog (not even
``dataclasses``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import namedtuple

from dockpy.build.options import BuildOptions
from dockpy.image import catalog
from dockpy.image.reference import parse_tag_reference
from dockpy.metadata import MetadataConnection, ensure_schema, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS build_results (
    fingerprint TEXT PRIMARY KEY,
    manifest_digest TEXT NOT NULL,
    image_id TEXT NOT NULL,
    bases TEXT NOT NULL,
    steps TEXT NOT NULL
) WITHOUT ROWID
"""


class KnownBuild(namedtuple("KnownBuild", "manifest_digest image_id bases steps")):
    """A recorded build: its image, the base tags (repository, tag, manifest) it used, and its step lines
    (for progress output). A namedtuple, as every record on this path (see ``options``)."""

    __slots__ = ()


def fingerprint_build(options: BuildOptions) -> str | None:
    """The fingerprint of a build request; None when it must not be answered from a record (--no-cache)."""
    if options.no_cache:
        return None
    digest = hashlib.sha256()
    request = {k: v for k, v in options._asdict().items() if k not in ("secrets", "context_dir", "dockerfile")}
    request["context"] = os.path.abspath(options.context_dir)
    request["dockerfile"] = os.path.abspath(options.dockerfile_path)
    request["secrets"] = {name: _identity(path) for name, path in sorted(options.secrets.items())}
    digest.update(json.dumps(request, sort_keys=True, default=list).encode())
    try:
        with open(options.dockerfile_path, "rb") as file:
            digest.update(file.read())
    except OSError:
        return None
    digest.update(_identity(f"{options.dockerfile_path}.dockerignore").encode())
    _hash_tree(digest, options.context_dir)
    return digest.hexdigest()


def _hash_tree(digest, top: str) -> None:
    pending = [top]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:
            digest.update(f"unreadable {directory}\n".encode())
            continue
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            link = os.readlink(entry.path) if entry.is_symlink() else ""
            digest.update(f"{entry.path}\0{st.st_mode}\0{st.st_dev}\0{st.st_ino}\0{st.st_size}\0"
                          f"{st.st_mtime_ns}\0{st.st_ctime_ns}\0{link}\n".encode("utf-8", "surrogateescape"))
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)


def _identity(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def find_unchanged_build(connection: MetadataConnection, fingerprint: str, tags: tuple[str, ...]) -> KnownBuild | None:
    """The recorded result of ``fingerprint`` if it is still exactly what a build would give."""
    ensure_schema(connection, "build.results", _SCHEMA)
    row = connection.execute("SELECT manifest_digest, image_id, bases, steps FROM build_results WHERE fingerprint = ?",
                             (fingerprint,)).fetchone()
    if row is None or catalog.image_row(connection, row[0]) is None:
        return None
    known = KnownBuild(row[0], row[1], tuple(tuple(base) for base in json.loads(row[2])), tuple(json.loads(row[3])))
    for repository, tag, manifest in known.bases:
        if _current_manifest(connection, repository, tag) != manifest:
            return None
    for name_tag in tags:
        target = parse_tag_reference(name_tag)
        if _current_manifest(connection, target.repository, target.tag) != known.manifest_digest:
            return None
    return known


def remember_build(connection: MetadataConnection, fingerprint: str, known: KnownBuild) -> None:
    ensure_schema(connection, "build.results", _SCHEMA)
    with transaction(connection):
        connection.execute("INSERT OR REPLACE INTO build_results VALUES (?, ?, ?, ?, ?)",
                           (fingerprint, known.manifest_digest, known.image_id, json.dumps(known.bases),
                            json.dumps(known.steps)))


def _current_manifest(connection: MetadataConnection, repository: str, tag: str) -> str | None:
    revision = catalog.revision(connection, repository, tag, None)
    return revision.manifest_digest if revision is not None else None
