"""What a build was asked to do (``dockpy build``'s flags, DESIGN.md §5), as plain data.

Kept apart from the builder so that ``fastpath`` can fingerprint a request
without importing the builder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_DOCKERFILE = "Dockerfile"


@dataclass(frozen=True)
class BuildOptions:
    """``secrets`` maps a secret id to the host file holding it; ``compression`` is ``zstd`` or ``gzip``;
    ``cache_from``/``cache_to`` name build-cache images (``cache_transfer``)."""

    context_dir: str
    dockerfile: str | None = None
    tags: tuple[str, ...] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    network: str = "host"
    labels: Mapping[str, str] = field(default_factory=dict)
    compression: str = "zstd"
    secrets: Mapping[str, str] = field(default_factory=dict)
    source_date_epoch: int | None = None
    author: str | None = None
    cache_from: tuple[str, ...] = ()
    cache_to: str | None = None

    @property
    def dockerfile_path(self) -> str:
        return self.dockerfile or os.path.join(self.context_dir, DEFAULT_DOCKERFILE)
