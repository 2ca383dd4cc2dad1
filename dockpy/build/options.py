"""What a build was asked to do (``dockpy build``'s flags, DESIGN.md §5), as plain data (a namedtuple).

Kept apart from the builder so that ``fastpath`` can fingerprint a request
without importing the builder.
"""

from __future__ import annotations

import os
from collections import namedtuple

DEFAULT_DOCKERFILE = "Dockerfile"

_BuildOptionsFields = namedtuple(
    "BuildOptions",
    "context_dir dockerfile tags build_args target no_cache network labels compression secrets source_date_epoch"
    " author cache_from cache_to",
    defaults=(None, (), {}, None, False, "host", {}, "zstd", {}, None, None, (), None),
)


class BuildOptions(_BuildOptionsFields):
    """``secrets`` maps a secret id to the host file holding it; ``compression`` is ``zstd`` or ``gzip``;
    ``cache_from``/``cache_to`` name build-cache images (``cache_transfer``).

    A namedtuple rather than a frozen dataclass, as the runtime's records (see
    ``dockpy.runtime.spec``): an unchanged build is answered without importing
    ``dataclasses``. The mapping defaults are shared: never change them.
    """

    __slots__ = ()

    @property
    def dockerfile_path(self) -> str:
        return self.dockerfile or os.path.join(self.context_dir, DEFAULT_DOCKERFILE)
