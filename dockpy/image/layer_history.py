"""The rows of ``dockpy history``: an image's history entries matched with its layers.

They are computed once, when an image is recorded, and kept in the catalog
as JSON, so that ``dockpy history`` reads one row instead of loading the JSON
model and two blobs (it must start as fast as ``dockpy images``). ``fsck``
checks the kept rows against the config.
"""

from __future__ import annotations

from collections import namedtuple

from dockpy.image.timestamps import format_timestamp, parse_timestamp

_LayerHistoryFields = namedtuple("LayerHistory", "image_id created created_by size comment empty_layer")


class LayerHistory(_LayerHistoryFields):
    """One row of ``docker history``: a layer, or a step that made none (``empty_layer``).

    ``image_id`` is set on the top row only, as Docker shows ``<missing>`` below it.
    """

    __slots__ = ()

    def to_json(self) -> dict:
        created = format_timestamp(self.created) if self.created is not None else None
        return {
            "Id": self.image_id, "Created": created, "CreatedBy": self.created_by, "Size": self.size,
            "Comment": self.comment, "EmptyLayer": self.empty_layer,
        }


def layer_history(manifest, config) -> list[LayerHistory]:
    """Newest first. Each non-empty history entry takes the next layer's stored (compressed) size;
    images without history (some imports, foreign tools) get one bare row per layer.
    """
    layers = iter(manifest.layers)
    rows = []
    for entry in config.history or ():
        layer = None if entry.empty_layer else next(layers, None)
        rows.append(LayerHistory(None, parse_timestamp(entry.created), entry.created_by or "",
                                 layer.size if layer else 0, entry.comment or "", entry.empty_layer))
    rows += [LayerHistory(None, None, "", layer.size, "", False) for layer in layers]
    rows.reverse()
    if rows:
        rows[0] = rows[0]._replace(image_id=manifest.config.digest)
    return rows


def encode_history(rows: list[LayerHistory]) -> str:
    """The catalog's form: a JSON list of rows (the image id is the row's own column)."""
    import json

    return json.dumps([[r.created, r.created_by, r.size, r.comment, r.empty_layer] for r in rows])


def decode_history(text: str, image_id: str) -> list[LayerHistory]:
    import json

    rows = [LayerHistory(None, *fields) for fields in json.loads(text)]
    if rows:
        rows[0] = rows[0]._replace(image_id=image_id)
    return rows
