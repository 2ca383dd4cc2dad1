"""The rows of dockpy history: history entries matched with layers, kept in the catalog."""

from dockpy.image.layer_history import decode_history, encode_history, layer_history
from dockpy.image.oci import HistoryEntry
from tests.image.conftest import put_test_image


def test_history_pairs_entries_with_layers_and_skips_empty_layers(image_store):
    image = put_test_image(image_store, {"a": b"1"}, {"b": b"22"})
    entries = (
        HistoryEntry(created_by="ADD a /"), HistoryEntry(created_by="ENV X=1", empty_layer=True),
        HistoryEntry(created_by="ADD b /", comment="second"),
    )
    image = image._replace(config=image.config.replace(history=entries))
    rows = layer_history(image.manifest, image.config)
    assert [(r.created_by, r.size, r.empty_layer) for r in rows] == [
        ("ADD b /", image.layers[1].size, False), ("ENV X=1", 0, True), ("ADD a /", image.layers[0].size, False),
    ]
    assert [r.image_id for r in rows] == [image.id, None, None]
    assert rows[0].comment == "second"


def test_an_image_without_history_gets_a_row_per_layer(image_store):
    image = put_test_image(image_store, {"a": b"1"}, {"b": b"2"})
    image = image._replace(config=image.config.replace(history=None))
    rows = layer_history(image.manifest, image.config)
    assert [(r.created_by, r.size) for r in rows] == [("", image.layers[1].size), ("", image.layers[0].size)]


def test_the_catalog_keeps_the_rows_and_refs_read_them_back(image_store):
    image = put_test_image(image_store, {"a": b"1"}, {"b": b"2"})
    image_store.add_revision("app", image, operation="import")
    assert image_store.history("app") == layer_history(image.manifest, image.config)


def test_rows_survive_the_catalog_encoding(image_store):
    image = put_test_image(image_store, {"a": b"1"})
    rows = layer_history(image.manifest, image.config)
    assert decode_history(encode_history(rows), image.id) == rows
