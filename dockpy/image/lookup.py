"""Which manifest an image reference names, from the catalog alone.

``NAME[:TAG]`` names the tag's current revision, ``NAME[:TAG]@N`` its
revision N, ``NAME@sha256:...`` a manifest the catalog records. Text that
could be an image-id prefix is tried as a tag first, then as an id, as Docker
does. ``Refs.find`` resolves references here, and so does ``dockpy run``,
which needs nothing else of the image store for an image it ran before (and
so does not import ``refs``, its revision histories and listings).
"""

from __future__ import annotations

from dockpy.errors import InvalidReferenceError, NotFoundError
from dockpy.image import catalog
from dockpy.image.reference import ImageIdPrefix, ImageReference, parse_reference
from dockpy.layers.digests import Digest
from dockpy.metadata import MetadataConnection


def find_manifest(connection: MetadataConnection, reference: str) -> Digest:
    """The manifest digest ``reference`` names; ``connection`` must have the catalog's tables."""
    parsed = parse_reference(reference)
    if isinstance(parsed, ImageReference) and parsed.id_prefix is None:
        return _find_named(connection, parsed, reference)
    if isinstance(parsed, ImageReference):
        revision = catalog.revision(connection, parsed.repository, parsed.tag_or_default, None)
        if revision is not None:
            return revision.manifest_digest
        parsed = ImageIdPrefix(parsed.id_prefix)
    return _find_by_id_prefix(connection, parsed, reference)


def _find_named(connection: MetadataConnection, parsed: ImageReference, reference: str) -> Digest:
    if parsed.digest is not None:
        if catalog.image_row(connection, parsed.digest) is None:
            raise NotFoundError(f"no such image: {reference}")
        return parsed.digest
    revision = catalog.revision(connection, parsed.repository, parsed.tag_or_default, parsed.revision)
    if revision is None:
        raise NotFoundError(_missing_revision_message(connection, parsed, reference))
    return revision.manifest_digest


def _find_by_id_prefix(connection: MetadataConnection, parsed: ImageIdPrefix, reference: str) -> Digest:
    candidates = catalog.image_ids_with_prefix(connection, parsed.hex_prefix)
    if not candidates:
        raise NotFoundError(f"no such image: {reference}")
    if len(candidates) > 1:
        raise InvalidReferenceError(f"image id prefix {reference!r} is ambiguous: it matches {len(candidates)} images")
    return catalog.newest_manifest_of_image(connection, candidates[0])


def _missing_revision_message(connection: MetadataConnection, parsed: ImageReference, reference: str) -> str:
    if parsed.revision is None:
        return f"no such image: {reference}"
    history = catalog.revisions_of(connection, parsed.repository, parsed.tag_or_default)
    if not history:
        return f"no such tag: {parsed.name_tag}"
    return f"{parsed.name_tag} has no revision {parsed.revision} (revisions 1 to {history[0].number})"
