"""Content digests and the two layer identities OCI keeps apart.

- ``Digest``: ``sha256:<hex>`` of some bytes as stored (a compressed layer, a config, a manifest).
- ``DiffID``: the digest of a layer's *uncompressed* tar; listed in the image config's rootfs.
- ``ChainID``: the identity of a layer *with all layers below it*; snapshots are keyed by it.

They are ``str`` subclasses so they serialize as strings, but distinct types so a
diff_id is never passed where a digest is meant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dockpy.errors import InvalidReferenceError

ALGORITHM = "sha256"
_DIGEST_PATTERN = re.compile(r"sha256:[0-9a-f]{64}")


class Digest(str):
    """``sha256:<64 lowercase hex digits>``, validated on construction."""

    __slots__ = ()

    def __new__(cls, value: str):
        if not _DIGEST_PATTERN.fullmatch(value):
            raise InvalidReferenceError(f"invalid digest {value!r}: want sha256:<64 hex digits>")
        return super().__new__(cls, value)

    @classmethod
    def of_bytes(cls, data: bytes):
        import hashlib  # here, not at the top: listings that only parse digests start faster without OpenSSL

        return cls(f"{ALGORITHM}:{hashlib.sha256(data).hexdigest()}")

    @classmethod
    def from_hex(cls, hex_digest: str):
        return cls(f"{ALGORITHM}:{hex_digest}")

    @property
    def hex(self) -> str:
        return self[len(ALGORITHM) + 1 :]

    @property
    def short(self) -> str:
        """The 12 hex digits Docker shows as an id."""
        return self.hex[:12]


class DiffID(Digest):
    """Digest of a layer's uncompressed tar stream."""

    __slots__ = ()


class ChainID(Digest):
    """Identity of a layer stacked on its parents: the key of a snapshot."""

    __slots__ = ()


def chain_ids(diff_ids: Iterable[DiffID]) -> list[ChainID]:
    """The chain id of each prefix of ``diff_ids`` (OCI image spec, "ChainID")."""
    result: list[ChainID] = []
    for diff_id in diff_ids:
        if not result:
            result.append(ChainID(diff_id))
        else:
            joined = f"{result[-1]} {diff_id}".encode()
            result.append(ChainID.of_bytes(joined))
    return result
