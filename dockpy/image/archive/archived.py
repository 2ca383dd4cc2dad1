"""An image as an archive holds it, the unit both archive formats read and write."""

from __future__ import annotations

from dataclasses import dataclass

from dockpy.image.oci import Manifest
from dockpy.layers.digests import Digest


@dataclass(frozen=True)
class ArchivedImage:
    """A manifest (with its digest) and the names the archive gives it.

    ``names`` are full references with a tag (``docker.io/library/busybox:latest``
    or ``localhost/app:1``), as found in or written to the archive; an image
    saved by id or digest has none.
    """

    manifest_digest: Digest
    manifest: Manifest
    names: tuple[str, ...] = ()

    @property
    def config_digest(self) -> Digest:
        return self.manifest.config.digest
