"""One pass over an archive being loaded: what it holds, staged and verified.

Each member is taken as it streams by (so ``dockpy load`` reads standard
input as well as a file):

- ``blobs/sha256/<hex>`` is staged and must hash to ``<hex>``, or the load fails;
- any other ``*.tar`` (a docker archive's layer: ``<id>/layer.tar``, ``<hex>.tar``)
  is checked entry by entry and stored as zstd while it streams
  (``store_layer_from_tar``), keeping its diff_id;
- a small file (``index.json``, ``manifest.json``, a config) is kept in memory;
- anything else is staged under its own digest;
- a link is remembered and followed when something names it.

Sizes are bounded: a document read into memory may have at most
``MAX_DOCUMENT_SIZE`` bytes and all of them ``MAX_DOCUMENTS_TOTAL``; an
archive may have at most ``MAX_MEMBERS`` members. Everything else goes to
disk, in the staging store, never to memory.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from dockpy.errors import DockpyError, UnsafeArchiveError
from dockpy.layers.diff_id_tee import DiffIdTee
from dockpy.image.archive.members import Member, MemberKind
from dockpy.image.staging import StagingStore
from dockpy.layers.compression import Compression, LayerBlob, store_layer_from_tar
from dockpy.layers.content import BlobInfo
from dockpy.layers.digests import DiffID, Digest

# Index, manifests and configs are kilobytes; a config with a long history some hundreds of them.
MAX_DOCUMENT_SIZE = 4 << 20
MAX_DOCUMENTS_TOTAL = 64 << 20
MAX_MEMBERS = 100_000
# Links followed in a row before the archive is taken to loop.
MAX_LINK_DEPTH = 40
BLOBS_PREFIX = "blobs/"
_BLOB_PATH = re.compile(r"blobs/([^/]+)/([^/]+)")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass
class ArchiveContents:
    """What an archive holds, by member name; blobs live in ``staging`` (or already in the store)."""

    staging: StagingStore
    documents: dict[str, bytes] = field(default_factory=dict)
    blobs: dict[str, BlobInfo] = field(default_factory=dict)
    layers: dict[str, LayerBlob | DockpyError] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    # Blobs whose uncompressed content was hashed on the way in: stored digest -> diff_id.
    diff_ids: dict[Digest, DiffID] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        name = self.resolve(name)
        return name in self.documents or name in self.blobs or name in self.layers

    def resolve(self, name: str) -> str:
        """The member a name stands for, following links inside the archive."""
        for _ in range(MAX_LINK_DEPTH):
            if name not in self.links:
                return name
            name = self.links[name]
        raise UnsafeArchiveError(f"archive member {name!r}: too many levels of links")

    def document(self, name: str, what: str) -> bytes:
        """A small file's bytes, e.g. ``manifest.json``; ``what`` names it in errors."""
        member = self.resolve(name)
        if member in self.documents:
            return self.documents[member]
        if member in self.blobs:
            return self.staging.read_bytes(self.blobs[member].digest, MAX_DOCUMENT_SIZE, what)
        if member in self.layers:
            raise UnsafeArchiveError(f"{what} ({name}) is a tar, not a document of at most {MAX_DOCUMENT_SIZE} bytes")
        raise UnsafeArchiveError(f"the archive has no {name} ({what})")

    def blob(self, digest: Digest, what: str) -> BlobInfo:
        """The blob ``blobs/sha256/<hex>`` of an OCI layout; ``what`` names it in errors."""
        name = self.resolve(blob_path(digest))
        if name not in self.blobs:
            raise UnsafeArchiveError(f"the archive is missing blob {digest} ({what})")
        info = self.blobs[name]
        if info.digest != digest:
            raise UnsafeArchiveError(f"archive member {blob_path(digest)} links to a blob of another digest")
        return info

    def layer_tar(self, name: str, what: str) -> LayerBlob:
        """A docker archive's layer, stored as zstd (converted as it streamed, or now)."""
        member = self.resolve(name)
        if member in self.layers:
            result = self.layers[member]
            if isinstance(result, DockpyError):
                raise type(result)(f"{what} ({name}): {result}")
            return result
        if member in self.documents:
            tar = io.BytesIO(self.documents[member])
        elif member in self.blobs:
            tar = self.staging.open(self.blobs[member].digest)
        else:
            raise UnsafeArchiveError(f"the archive has no {name} ({what})")
        self.layers[member] = self.store_layer(tar)  # converted once, however many images use it
        return self.layers[member]

    def store_layer(self, tar: BinaryIO) -> LayerBlob:
        """Check a layer tar and stage it as zstd, remembering its diff_id."""
        layer = store_layer_from_tar(self.staging.content, tar, Compression.ZSTD)
        self.diff_ids[layer.digest] = layer.diff_id
        return layer


def blob_path(digest: Digest) -> str:
    return f"{BLOBS_PREFIX}sha256/{digest.hex}"


def read_archive(members: Iterable[tuple[Member, BinaryIO]], staging: StagingStore) -> ArchiveContents:
    """Take every member of an archive into ``ArchiveContents`` (see the module docstring)."""
    contents = ArchiveContents(staging)
    documents_size = 0
    for count, (member, data) in enumerate(members, start=1):
        if count > MAX_MEMBERS:
            raise UnsafeArchiveError(f"the archive has more than {MAX_MEMBERS} members")
        if member.kind is MemberKind.LINK:
            contents.links[member.name] = member.link_target
        elif member.name.startswith(BLOBS_PREFIX):
            contents.blobs[member.name] = _stage_blob(contents, data, _digest_of_blob_path(member.name), member.size)
        elif member.name.endswith(".tar"):
            contents.layers[member.name] = _store_layer_or_error(contents, data)
        elif member.size <= MAX_DOCUMENT_SIZE:
            documents_size += member.size
            if documents_size > MAX_DOCUMENTS_TOTAL:
                raise UnsafeArchiveError(f"the archive's small files add up to more than {MAX_DOCUMENTS_TOTAL} bytes")
            contents.documents[member.name] = _read_exactly(data, member)
        else:
            contents.blobs[member.name] = _stage_blob(contents, data, None, member.size)
    return contents


def _stage_blob(contents: ArchiveContents, data: BinaryIO, expected: Digest | None, size: int) -> BlobInfo:
    """Stage a blob, learning its diff_id on the way (a plain blob's is its digest)."""
    with DiffIdTee(data) as tee:
        info = contents.staging.stage(tee, expected, size)
    diff_id = tee.finish() if tee.compressed else DiffID(info.digest)
    if diff_id is not None:
        contents.diff_ids[info.digest] = diff_id
    return info


def _digest_of_blob_path(name: str) -> Digest:
    match = _BLOB_PATH.fullmatch(name)
    if not match:
        raise UnsafeArchiveError(f"archive member {name!r} is not a blob: want blobs/sha256/<hex>")
    algorithm, hex_digest = match.groups()
    if algorithm != "sha256":
        raise UnsafeArchiveError(f"archive member {name!r}: digest algorithm {algorithm!r} is not supported")
    if not _SHA256_HEX.fullmatch(hex_digest):
        raise UnsafeArchiveError(f"archive member {name!r} is not named by a sha256 digest")
    return Digest.from_hex(hex_digest)


def _store_layer_or_error(contents: ArchiveContents, data: BinaryIO) -> LayerBlob | UnsafeArchiveError:
    """Convert a layer tar as it streams; a bad one is an error only if an image uses it."""
    try:
        return contents.store_layer(data)
    except UnsafeArchiveError as error:
        return error


def _read_exactly(data: BinaryIO, member: Member) -> bytes:
    content = data.read(member.size)
    if len(content) != member.size:
        raise UnsafeArchiveError(f"archive member {member.name} is truncated")
    return content
