"""Read-only views of one image: ``inspect``'s document and ``history``'s per-layer rows."""

from __future__ import annotations

from dataclasses import dataclass

from dockpy.image import catalog
from dockpy.image.store import Image, ImageStore
from dockpy.image.timestamps import format_timestamp, parse_timestamp
from dockpy.layers.digests import Digest


@dataclass(frozen=True)
class LayerHistory:
    """One row of ``docker history``: a layer, or a step that made none (``empty_layer``)."""

    image_id: Digest | None  # only the top row names the image, as in Docker ("<missing>" below)
    created: float | None
    created_by: str
    size: int
    comment: str
    empty_layer: bool

    def to_json(self) -> dict:
        return {
            "Id": self.image_id, "Created": format_timestamp(self.created) if self.created is not None else None, "CreatedBy": self.created_by, "Size": self.size,
            "Comment": self.comment, "EmptyLayer": self.empty_layer,
        }


def layer_history(image: Image) -> list[LayerHistory]:
    """The image's history entries matched with its layers, newest first.

    Each non-empty entry takes the next layer's stored (compressed) size.
    Images without history (some imports, foreign tools) get one bare row per layer.
    """
    layers = iter(image.layers)
    rows = []
    for entry in image.config.history or ():
        layer = None if entry.empty_layer else next(layers, None)
        rows.append(LayerHistory(None, parse_timestamp(entry.created), entry.created_by or "",
                                 layer.size if layer else 0, entry.comment or "", entry.empty_layer))
    rows += [LayerHistory(None, None, "", layer.size, "", False) for layer in layers]
    rows.reverse()
    if rows:
        top = rows[0]
        rows[0] = LayerHistory(image.id, top.created, top.created_by, top.size, top.comment, top.empty_layer)
    return rows


def describe_image(store: ImageStore, reference: str) -> dict:
    """``docker image inspect``'s document for the image ``reference`` names, plus dockpy's revisions."""
    image = store.resolve(reference)
    config = image.config
    tags = store.tags_of(image.id)
    revisions = [r.reference for r in catalog.all_revisions(store.db) if r.manifest_digest == image.manifest_digest]
    history = config.history or ()
    return {
        "Id": image.id,
        "RepoTags": tags,
        "RepoDigests": sorted({f"{tag.rpartition(':')[0]}@{image.manifest_digest}" for tag in tags}),
        "Comment": next((entry.comment for entry in reversed(history) if entry.comment), ""),
        "Created": config.created,
        "Author": config.author or "",
        "Config": config.config.to_json() if config.config else {},
        "Architecture": config.architecture,
        "Variant": config.variant,
        "Os": config.os,
        "Size": image.size,
        "RootFS": {"Type": config.rootfs.type, "Layers": list(config.rootfs.diff_ids)},
        "Manifest": {"Digest": image.manifest_digest, "MediaType": image.manifest.media_type,
                     "Layers": [layer.to_json() for layer in image.layers]},
        "Revisions": revisions,
    }
