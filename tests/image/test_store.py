"""The image store: putting and resolving images, tag histories, rollback, tag and rmi."""

import pytest

from dockpy.errors import ConflictError, IntegrityError, InvalidReferenceError, NotFoundError
from dockpy.image import catalog
from dockpy.image.catalog import ImageRow
from dockpy.image.refs import Removal
from dockpy.image.store import ImageStore
from dockpy.layers.digests import Digest
from dockpy.root import StorageRoot
from tests.image.conftest import put_test_image


@pytest.fixture
def two_images(image_store):
    first = put_test_image(image_store, {"etc/": None, "etc/version": b"1"})
    second = put_test_image(image_store, {"etc/": None, "etc/version": b"2"})
    return first, second


def test_put_image_stores_config_and_manifest_blobs(image_store):
    image = put_test_image(image_store, {"a": b"x"})
    assert image_store.content.has(image.manifest_digest)
    assert image_store.content.has(image.id)
    assert image_store.read_image(image.manifest_digest) == image


def test_put_image_refuses_layers_that_are_not_stored(image_store):
    image = put_test_image(image_store, {"a": b"x"})
    image_store.content.delete(image.layers[0].digest)
    with pytest.raises(NotFoundError):
        image_store.put_image(image.config, image.layers)


def test_put_image_refuses_a_layer_count_that_differs_from_the_diff_ids(image_store):
    image = put_test_image(image_store, {"a": b"x"})
    with pytest.raises(IntegrityError, match="2 layers for 1 diff ids"):
        image_store.put_image(image.config, image.layers * 2)


def test_image_blobs_may_be_stored_before_their_layers_and_recorded_after(image_store):
    image = put_test_image(image_store, {"a": b"x"})
    layer = image.layers[0]
    layer_bytes = image_store.content.read_bytes(layer.digest)
    image_store.content.delete(layer.digest)
    other = image_store.put_image_blobs(image.config, image.layers, annotations={"later": "yes"})
    assert catalog.image_row(image_store.db, other.manifest_digest) is None
    with pytest.raises(NotFoundError):
        image_store.record_image(other)
    image_store.content.put_bytes(layer_bytes)
    image_store.record_image(other)
    assert catalog.image_row(image_store.db, other.manifest_digest) is not None


def test_revisions_are_numbered_per_tag_from_one(image_store, two_images):
    first, second = two_images
    assert image_store.add_revision("app", first, operation="import").number == 1
    assert image_store.add_revision("app", second, operation="build").number == 2
    assert image_store.add_revision("app:other", second, operation="tag").number == 1
    log = image_store.log("app:latest")
    assert [(r.number, r.image_id, r.operation) for r in log] == [(2, second.id, "build"), (1, first.id, "import")]


def test_a_revision_records_author_message_and_time(image_store, two_images, monkeypatch):
    monkeypatch.setenv("DOCKPY_AUTHOR", "Ada")
    revision = image_store.add_revision("app", two_images[0], operation="import", message="first cut")
    assert (revision.author, revision.message, revision.reference) == ("Ada", "first cut", "app:latest@1")
    assert revision.time > 1_600_000_000


def test_tagging_the_current_image_again_adds_no_revision(image_store, two_images):
    image_store.add_revision("app", two_images[0], operation="import")
    assert image_store.add_revision("app", two_images[0], operation="tag").number == 1
    assert len(image_store.log("app")) == 1


def test_resolve_finds_tags_revisions_digests_and_id_prefixes(image_store, two_images):
    first, second = two_images
    image_store.add_revision("app", first, operation="import")
    image_store.add_revision("app", second, operation="import")
    assert image_store.resolve("app").id == second.id
    assert image_store.resolve("app:latest@1").id == first.id
    assert image_store.resolve(f"app@{first.manifest_digest}").id == first.id
    assert image_store.resolve(first.id).id == first.id
    assert image_store.resolve(first.id.hex[:12]).id == first.id
    assert image_store.resolve(f"sha256:{first.id.hex[:6]}").id == first.id


def test_a_tag_wins_over_an_id_prefix_that_looks_the_same(image_store, two_images):
    first, second = two_images
    image_store.add_revision(second.id.hex[:8], first, operation="tag")
    assert image_store.resolve(second.id.hex[:8]).id == first.id


def test_an_ambiguous_id_prefix_is_refused(image_store, two_images):
    first = two_images[0]
    differing = "1" if first.id.hex[8] == "0" else "0"
    twin_id = Digest.from_hex(first.id.hex[:8] + differing * 56)  # shares exactly 8 hex digits with the first
    with catalog.write_transaction(image_store.db, "test"):
        catalog.insert_image(image_store.db, ImageRow(Digest.of_bytes(b"m"), twin_id, 1, None, 0.0, "[]"))
    with pytest.raises(InvalidReferenceError, match="ambiguous"):
        image_store.resolve(first.id.hex[:8])
    assert image_store.resolve(first.id.hex[:9]).id == first.id


@pytest.mark.parametrize("reference, message", [
    ("nope", "no such image: nope"),
    ("app:latest@9", "app:latest has no revision 9 .revisions 1 to 1."),
    ("nope@2", "no such tag: nope:latest"),
    ("abcdef12", "no such image: abcdef12"),
    ("sha256:" + "0" * 64, "no such image"),
])
def test_unknown_references_are_not_found(image_store, two_images, reference, message):
    image_store.add_revision("app", two_images[0], operation="import")
    with pytest.raises(NotFoundError, match=message):
        image_store.resolve(reference)


def test_rollback_points_the_tag_at_the_previous_image_as_a_new_revision(image_store, two_images):
    first, second = two_images
    image_store.add_revision("app", first, operation="import")
    image_store.add_revision("app", second, operation="import")
    revision = image_store.rollback("app")
    assert (revision.number, revision.image_id, revision.operation) == (3, first.id, "rollback")
    assert revision.message == "rollback to revision 1"
    assert image_store.resolve("app").id == first.id


def test_a_second_rollback_undoes_the_first(image_store, two_images):
    first, second = two_images
    image_store.add_revision("app", first, operation="import")
    image_store.add_revision("app", second, operation="import")
    image_store.rollback("app")
    revision = image_store.rollback("app")
    assert (revision.number, revision.image_id) == (4, second.id)


def test_rollback_to_a_named_revision(image_store, two_images):
    first, second = two_images
    for image in (first, second, first, second):
        image_store.add_revision("app", image, operation="build")
    assert image_store.rollback("app", to=1).image_id == first.id
    assert image_store.rollback("app", to=4, message="back again").message == "back again"


def test_rollback_to_the_current_image_changes_nothing(image_store, two_images):
    first, second = two_images
    image_store.add_revision("app", first, operation="import")
    image_store.add_revision("app", second, operation="import")
    assert image_store.rollback("app", to=2).number == 2


@pytest.mark.parametrize("to, message", [(None, "only one revision"), (5, "no revision 5"), (0, "nothing to roll back")])
def test_rollback_without_a_target_revision_fails(image_store, two_images, to, message):
    image_store.add_revision("app", two_images[0], operation="import")
    with pytest.raises(NotFoundError, match=message):
        image_store.rollback("app", to=to)


def test_rollback_of_an_unknown_tag_fails(image_store):
    with pytest.raises(NotFoundError, match="no such tag: app:latest"):
        image_store.rollback("app")


def test_tag_adds_a_revision_to_the_target(image_store, two_images):
    image_store.add_revision("app", two_images[0], operation="import")
    revision = image_store.tag("app", "localhost:5000/app:v1")
    assert (revision.name_tag, revision.operation, revision.message) == ("localhost:5000/app:v1", "tag", "tag app")
    assert image_store.resolve("localhost:5000/app:v1").id == two_images[0].id


def test_untag_removes_the_tag_with_its_history(image_store, two_images):
    image_store.add_revision("app", two_images[0], operation="import")
    image_store.add_revision("app", two_images[1], operation="import")
    assert image_store.untag("app") == {two_images[0].manifest_digest, two_images[1].manifest_digest}
    with pytest.raises(NotFoundError):
        image_store.log("app")


def test_images_lists_current_tags_then_untagged_images(image_store, two_images):
    first, second = two_images
    image_store.add_revision("b", first, operation="import")
    image_store.add_revision("b", second, operation="import")
    image_store.add_revision("a:1", first, operation="import")
    third = put_test_image(image_store, {"c": b"3"})
    listing = [(s.repository, s.tag, s.revision, s.image_id) for s in image_store.images()]
    assert listing == [("a", "1", 1, first.id), ("b", "latest", 2, second.id), (None, None, None, third.id)]


def test_images_with_earlier_revisions_adds_the_images_only_old_revisions_name(image_store, two_images):
    first, second = two_images
    image_store.add_revision("b", first, operation="import")
    image_store.add_revision("b", second, operation="import")
    image_store.add_revision("c", second, operation="import")
    assert [s.image_id for s in image_store.images()] == [second.id, second.id]
    listing = [(s.repository, s.tag, s.revision, s.image_id) for s in image_store.images(earlier_revisions=True)]
    assert listing == [("b", "latest", 2, second.id), ("c", "latest", 1, second.id), (None, None, None, first.id)]


def test_an_image_an_old_revision_names_is_not_listed_twice_while_another_tag_points_at_it(image_store, two_images):
    first, second = two_images
    image_store.add_revision("b", first, operation="import")
    image_store.add_revision("b", second, operation="import")
    image_store.add_revision("a", first, operation="import")
    assert [s.tag for s in image_store.images(earlier_revisions=True)] == ["latest", "latest"]


def test_rmi_of_a_tag_untags_it(image_store, two_images):
    image_store.add_revision("app", two_images[0], operation="import")
    assert image_store.remove_image("app").untagged == ("app:latest",)
    assert image_store.images()[0].repository is None


def test_rmi_of_an_image_id_untags_its_only_tag(image_store, two_images):
    image_store.add_revision("app", two_images[0], operation="import")
    assert image_store.remove_image(two_images[0].id.hex[:12]).untagged == ("app:latest",)


def test_rmi_of_an_image_with_two_tags_needs_force(image_store, two_images):
    image_store.add_revision("a", two_images[0], operation="import")
    image_store.add_revision("b", two_images[0], operation="tag")
    with pytest.raises(ConflictError, match="tagged a:latest, b:latest"):
        image_store.remove_image(two_images[0].id)
    assert image_store.remove_image(two_images[0].id, force=True).untagged == ("a:latest", "b:latest")


def test_rmi_of_an_image_kept_by_history_is_refused(image_store, two_images):
    image_store.add_revision("app", two_images[0], operation="import")
    image_store.add_revision("app", two_images[1], operation="import")
    with pytest.raises(ConflictError, match="in the history of app:latest"):
        image_store.remove_image(two_images[0].id)


def test_rmi_of_an_untagged_image_offers_it_to_gc(image_store, two_images):
    removal = image_store.remove_image(two_images[0].id)
    assert removal == Removal((), frozenset({two_images[0].manifest_digest}))


def test_rmi_of_a_tag_offers_every_image_of_its_history_to_gc(image_store, two_images):
    image_store.add_revision("app", two_images[0], operation="import")
    image_store.add_revision("app", two_images[1], operation="import")
    assert image_store.remove_image("app").manifests == {image.manifest_digest for image in two_images}


def test_rmi_of_one_revision_is_refused(image_store, two_images):
    image_store.add_revision("app", two_images[0], operation="import")
    with pytest.raises(InvalidReferenceError, match="cannot remove one revision"):
        image_store.remove_image("app@1")


def test_rmi_refuses_the_last_tag_of_an_image_a_container_holds(image_store, two_images):
    image_store.add_revision("app", two_images[0], operation="import")
    image_store.hold("container:c0ffee", image_id=two_images[0].id)
    with pytest.raises(ConflictError, match="c0ffee is using its image"):
        image_store.remove_image("app")
    image_store.add_revision("other", two_images[0], operation="tag")
    assert image_store.remove_image("app").untagged == ("app:latest",)
    with pytest.raises(ConflictError):
        image_store.remove_image("other")
    image_store.release("container:c0ffee")
    assert image_store.remove_image("other").untagged == ("other:latest",)


def test_rmi_of_an_unknown_image_is_not_found(image_store):
    with pytest.raises(NotFoundError, match="no such image: ghost"):
        image_store.remove_image("ghost")


def test_two_store_objects_on_one_root_number_revisions_without_gaps(storage_root, two_images, image_store):
    with ImageStore(storage_root) as other:
        image_store.add_revision("app", two_images[0], operation="import")
        other.add_revision("app", two_images[1], operation="import")
        image_store.rollback("app")
        assert [r.number for r in other.log("app")] == [3, 2, 1]


def test_register_manifest_records_a_manifest_whose_blobs_were_stored_directly(image_store, storage_root):
    image = put_test_image(image_store, {"a": b"1"})
    with ImageStore(StorageRoot(storage_root.path.parent / "other")) as other:
        for digest in (image.manifest_digest, image.id, image.layers[0].digest):
            other.content.put_bytes(image_store.content.read_bytes(digest))
        assert other.register_manifest(image.manifest_digest) == image
        assert other.resolve(image.id.hex[:12]) == image


def test_register_manifest_refuses_a_manifest_with_a_missing_layer(image_store, storage_root):
    image = put_test_image(image_store, {"a": b"1"})
    with ImageStore(StorageRoot(storage_root.path.parent / "other")) as other:
        for digest in (image.manifest_digest, image.id):
            other.content.put_bytes(image_store.content.read_bytes(digest))
        with pytest.raises(NotFoundError):
            other.register_manifest(image.manifest_digest)
        assert other.images() == []


def test_a_store_given_an_open_connection_records_through_it_and_leaves_it_open(tmp_path):
    from dockpy.metadata import open_database

    root = StorageRoot(tmp_path / "root").create()
    database = open_database(root)
    with ImageStore(root, database) as store:
        image = put_test_image(store, {"a": b"x"})
        assert store.db is database
    row = database.execute("SELECT image_id FROM images WHERE manifest_digest = ?", (str(image.manifest_digest),)).fetchone()
    assert row["image_id"] == str(image.id)
    database.close()
