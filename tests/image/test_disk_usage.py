"""system df: counts, sizes and what gc would reclaim."""

from dockpy.image.disk_usage import disk_usage
from tests.image.conftest import put_test_image


def by_kind(store):
    return {line.kind: line for line in disk_usage(store)}


def test_an_empty_store_uses_nothing(image_store):
    assert all((line.total, line.size, line.reclaimable) == (0, 0, 0) for line in disk_usage(image_store))


def test_images_count_shared_blobs_once_and_untagged_ones_are_reclaimable(image_store):
    tagged = put_test_image(image_store, {"shared": b"s" * 1000})
    untagged = put_test_image(image_store, {"shared": b"s" * 1000}, {"own": b"o" * 500})
    image_store.add_revision("app", tagged, operation="import")
    images = by_kind(image_store)["Images"]
    assert (images.total, images.active) == (2, 1)
    sizes = {blob.digest: blob.size for blob in image_store.content.walk()}
    assert images.size == sum(sizes.values())
    only_untagged = {untagged.manifest_digest, untagged.id, untagged.layers[1].digest}
    assert images.reclaimable == sum(sizes[d] for d in only_untagged)


def test_loose_blobs_and_stale_temp_files_are_reclaimable(image_store):
    loose = image_store.content.put_bytes(b"x" * 300)
    (image_store.root.tmp / "ingest-old").write_bytes(b"y" * 70)
    lines = by_kind(image_store)
    assert (lines["Unreferenced blobs"].total, lines["Unreferenced blobs"].reclaimable) == (1, loose.size)
    assert (lines["Temporary files"].total, lines["Temporary files"].reclaimable) == (1, 70)


def test_layers_only_the_build_cache_holds_are_build_cache_that_builder_prune_reclaims(image_store):
    cached = image_store.content.put_bytes(b"c" * 400)
    image_store.hold("cache:step-key", blob=cached.digest)
    lines = by_kind(image_store)
    build_cache = lines["Build Cache"]
    assert (build_cache.total, build_cache.size, build_cache.reclaimable) == (1, cached.size, cached.size)
    assert build_cache.to_json()["ReclaimedBy"] == "dockpy builder prune"
    assert lines["Unreferenced blobs"].total == 0


def test_a_cached_layer_an_image_uses_counts_with_the_images_not_the_build_cache(image_store):
    image = put_test_image(image_store, {"layer": b"l" * 600})
    image_store.add_revision("app", image, operation="import")
    image_store.hold("cache:step-key", blob=image.layers[0].digest)
    assert by_kind(image_store)["Build Cache"].total == 0
