"""The build cache: which layer a step made the last time its inputs were the same.

A step's *key* is the sha256 of its inputs (``StepInputs``): the chain id of
the layers below it (omitted for ``COPY --link``, whose layer does not depend
on them), the instruction after expansion with everything that changes its
result (environment, working dir and user for RUN; destination, owner and
mode for COPY), the build args it uses, and for COPY/ADD one digest of the
content and metadata of all its sources. The cache index maps a key to the
layer made (or to "no layer", for a step that changed nothing), with the time
the layer was made, which the image's history keeps.

Each entry holds its layer blob as a gc root (``cache:<key>``), written in
the same transaction as the entry, so ``gc`` never leaves an entry pointing
at a missing blob. A failed step writes nothing.

To explain a miss (``--progress plain``: ``COPY: app/main.py changed``), the
inputs of the last build of each step are remembered per *slot* (context
directory, Dockerfile, stage and step number) and compared with the new ones.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from dockpy.image import catalog
from dockpy.layers.digests import DiffID, Digest
from dockpy.metadata import MetadataConnection, ensure_schema, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS build_cache (
    key TEXT PRIMARY KEY,
    diff_id TEXT,
    digest TEXT,
    size INTEGER,
    media_type TEXT,
    snapshot TEXT,
    created REAL NOT NULL,
    last_used REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS build_step_inputs (
    slot TEXT PRIMARY KEY,
    inputs TEXT NOT NULL
) WITHOUT ROWID
"""
# Files named in a miss explanation before "and N more".
MAX_NAMED_FILES = 3


@dataclass(frozen=True)
class StepInputs:
    """Everything a step's result depends on; ``files`` maps source paths to content digests."""

    parent: str | None
    instruction: str
    details: Mapping[str, object] = field(default_factory=dict)
    build_args: Mapping[str, str] = field(default_factory=dict)
    sources: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)

    def key(self) -> str:
        keyed = {k: v for k, v in asdict(self).items() if k != "files"}
        return hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class CachedLayer:
    """What a cache entry says a step made: a layer, or nothing (``diff_id is None``).

    ``snapshot`` names the committed snapshot the layer was made as (its chain
    id on the layers it was made on), which ``rebase`` clones.
    """

    diff_id: DiffID | None
    digest: Digest | None
    size: int
    media_type: str | None
    created: float
    snapshot: str | None = None


class BuildCache:
    """The cache index in the root's metadata database (shared with the image catalog)."""

    def __init__(self, connection: MetadataConnection):
        self._db = connection
        ensure_schema(connection, "build.cache", _SCHEMA)

    def lookup(self, key: str) -> CachedLayer | None:
        row = self._db.execute(
            "SELECT diff_id, digest, size, media_type, created, snapshot FROM build_cache WHERE key = ?",
            (key,)).fetchone()
        if row is None:
            return None
        diff_id, digest, size, media_type, created, snapshot = row
        return CachedLayer(DiffID(diff_id) if diff_id else None, Digest(digest) if digest else None,
                           size or 0, media_type, created, snapshot)

    def record(self, key: str, layer: CachedLayer) -> None:
        """Add an entry and its gc root in one transaction."""
        now = time.time()
        with transaction(self._db):
            self._db.execute(
                "INSERT OR REPLACE INTO build_cache VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, layer.diff_id, layer.digest, layer.size, layer.media_type, layer.snapshot, layer.created, now))
            if layer.digest is not None:
                catalog.add_root(self._db, f"cache:{key}", "blob", layer.digest)

    def forget(self, key: str) -> None:
        """Drop an entry whose blob went missing."""
        with transaction(self._db):
            self._db.execute("DELETE FROM build_cache WHERE key = ?", (key,))
            catalog.remove_roots(self._db, f"cache:{key}")

    def previous_inputs(self, slot: str) -> StepInputs | None:
        row = self._db.execute("SELECT inputs FROM build_step_inputs WHERE slot = ?", (slot,)).fetchone()
        return StepInputs(**json.loads(row[0])) if row else None

    def remember_inputs(self, inputs_by_slot: Mapping[str, StepInputs]) -> None:
        """Store the inputs of this build's steps (one transaction), for the next build's explanations."""
        rows = [(slot, json.dumps(asdict(inputs), sort_keys=True)) for slot, inputs in inputs_by_slot.items()]
        if not rows:
            return
        with transaction(self._db):
            self._db.executemany("INSERT OR REPLACE INTO build_step_inputs VALUES (?, ?)", rows)


def explain_miss(keyword: str, previous: StepInputs | None, current: StepInputs, no_cache: bool) -> str:
    """Why a step was not found in the cache, in one short phrase."""
    if no_cache:
        return "--no-cache"
    if previous is None:
        return "not built before"
    if previous.parent != current.parent:
        return "the layers below it changed"
    if previous.instruction != current.instruction or previous.details != current.details:
        return "the instruction changed"
    changed_args = sorted(k for k in {*previous.build_args, *current.build_args}
                          if previous.build_args.get(k) != current.build_args.get(k))
    if changed_args:
        return f"build arg {', '.join(changed_args)} changed"
    if previous.sources != current.sources:
        return f"{keyword}: {_changed_files(previous.files, current.files)}"
    return "no cache entry (removed, or the earlier build failed)"


def _changed_files(before: Mapping[str, str], after: Mapping[str, str]) -> str:
    changed = sorted(p for p in after if p in before and before[p] != after[p])
    added = sorted(p for p in after if p not in before)
    removed = sorted(p for p in before if p not in after)
    parts = [_named(changed, "changed"), _named(added, "added"), _named(removed, "removed")]
    return "; ".join(part for part in parts if part) or "source metadata changed"


def _named(paths: list[str], what: str) -> str:
    if not paths:
        return ""
    shown = ", ".join(paths[:MAX_NAMED_FILES])
    more = f" and {len(paths) - MAX_NAMED_FILES} more" if len(paths) > MAX_NAMED_FILES else ""
    return f"{shown}{more} {what}"
