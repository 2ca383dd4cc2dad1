"""dockpy inspect's document."""

from dockpy.image.inspection import describe_image
from tests.image.conftest import put_test_image


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


def test_an_unset_variant_is_left_out_as_docker_does(image_store):
    """Docker's document has no ``"Variant": null``: the field is omitted when empty."""
    image = put_test_image(image_store, {"a": b"1"})
    assert image.config.variant is None
    assert "Variant" not in describe_image(image_store, image.id)
