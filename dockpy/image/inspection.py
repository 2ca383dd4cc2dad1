"""``dockpy inspect``: the document ``docker image inspect`` prints, for one image."""

from __future__ import annotations

from dockpy.image import catalog
from dockpy.image.store import ImageStore


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
        **({"Variant": config.variant} if config.variant else {}),  # omitted when empty, as Docker does
        "Os": config.os,
        "Size": image.size,
        "RootFS": {"Type": config.rootfs.type, "Layers": list(config.rootfs.diff_ids)},
        "Manifest": {"Digest": image.manifest_digest, "MediaType": image.manifest.media_type,
                     "Layers": [layer.to_json() for layer in image.layers]},
        "Revisions": revisions,
    }
