"""history rows and inspect documents of an image."""

from dataclasses import replace

from dockpy.image.inspection import describe_image, layer_history
from dockpy.image.oci import HistoryEntry
from tests.image.conftest import put_test_image


def test_history_pairs_entries_with_layers_and_skips_empty_layers(image_store):
    image = put_test_image(image_store, {"a": b"1"}, {"b": b"22"})
    entries = (
        HistoryEntry(created_by="ADD a /"), HistoryEntry(created_by="ENV X=1", empty_layer=True),
        HistoryEntry(created_by="ADD b /", comment="second"),
    )
    image = replace(image, config=replace(image.config, history=entries))
    rows = layer_history(image)
    assert [(r.created_by, r.size, r.empty_layer) for r in rows] == [
        ("ADD b /", image.layers[1].size, False), ("ENV X=1", 0, True), ("ADD a /", image.layers[0].size, False),
    ]
    assert [r.image_id for r in rows] == [image.id, None, None]
    assert rows[0].comment == "second"


def test_an_image_without_history_gets_a_row_per_layer(image_store):
    image = put_test_image(image_store, {"a": b"1"}, {"b": b"2"})
    image = replace(image, config=replace(image.config, history=None))
    rows = layer_history(image)
    assert [(r.created_by, r.size) for r in rows] == [("", image.layers[1].size), ("", image.layers[0].size)]


def test_inspect_names_tags_digests_and_revisions(image_store):
    image = put_test_image(image_store, {"a": b"1"})
    image_store.add_revision("localhost:5000/app:v1", image, operation="import")
    image_store.add_revision("app", image, operation="tag")
    document = describe_image(image_store, "app")
    assert document["Id"] == image.id
    assert document["RepoTags"] == ["app:latest", "localhost:5000/app:v1"]
    assert document["RepoDigests"] == [f"app@{image.manifest_digest}", f"localhost:5000/app@{image.manifest_digest}"]
    assert document["Revisions"] == ["app:latest@1", "localhost:5000/app:v1@1"]
    assert document["RootFS"] == {"Type": "layers", "Layers": list(image.config.rootfs.diff_ids)}
    assert document["Size"] == image.size
