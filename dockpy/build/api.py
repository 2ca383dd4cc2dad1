"""``build(root, options, progress)``: the library entry point the command line calls.

An unchanged request is answered from the record of the build that made
its image (``fastpath``), which imports neither the parser nor the
builder; anything else is built (``builder.build_image``) and recorded.
"""

from __future__ import annotations

from collections import namedtuple

from dockpy.build.fastpath import find_unchanged_build, fingerprint_build
from dockpy.build.options import BuildOptions
from dockpy.build.progress import BuildFinished, Progress
from dockpy.image.reference import parse_tag_reference
from dockpy.metadata import open_database
from dockpy.root import StorageRoot


class BuildOutcome(namedtuple("BuildOutcome", "image_id manifest_digest reused", defaults=(False,))):
    """The built image; ``reused`` when an unchanged earlier build answered the request."""

    __slots__ = ()


def build(root: StorageRoot, options: BuildOptions, progress: Progress | None = None) -> BuildOutcome:
    for tag in options.tags:
        parse_tag_reference(tag)  # a bad -t fails before anything is built or stored
    progress = progress or Progress()
    fingerprint = fingerprint_build(options)
    if fingerprint is not None:
        outcome = _unchanged_build(root, options, progress, fingerprint)
        if outcome is not None:
            return outcome
    from dockpy.build.builder import build_image

    result = build_image(root, options, progress, fingerprint)
    return BuildOutcome(result.image.id, result.image.manifest_digest)


def _unchanged_build(root: StorageRoot, options: BuildOptions, progress: Progress,
                     fingerprint: str) -> BuildOutcome | None:
    if not root.database.exists():
        return None
    connection = open_database(root)
    try:
        known = find_unchanged_build(connection, fingerprint, options.tags)
    finally:
        connection.close()
    if known is None:
        return None
    progress.replay_cached(known.steps)
    progress.emit(BuildFinished(known.image_id, options.tags, progress.elapsed()))
    return BuildOutcome(known.image_id, known.manifest_digest, reused=True)
