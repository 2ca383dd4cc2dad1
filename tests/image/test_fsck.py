"""fsck finds corrupt and missing blobs, broken images and missing snapshot dirs, and passes a whole store."""

import os
import shutil
from pathlib import Path

from dockpy.image.fsck import check_store
from dockpy.layers.snapshots import Snapshotter
from tests.image.conftest import put_test_image


def tagged_image(store, files=None):
    image = put_test_image(store, files or {"etc/": None, "etc/os-release": b"ID=test\n"})
    store.add_revision("app", image, operation="import")
    return image


def overwrite(store, digest, data: bytes):
    path = Path(store.content.path(digest))
    os.chmod(path, 0o644)
    path.write_bytes(data)


def test_a_whole_store_is_clean(image_store):
    tagged_image(image_store)
    (image_store.root.tmp / "ingest-leftover").write_bytes(b"x")
    report = check_store(image_store)
    assert report.clean, report.problems
    assert (report.blobs, report.images, report.revisions, report.stale_temp_files) == (3, 1, 1, 1)


def test_a_corrupt_layer_blob_is_found_and_names_the_revision(image_store):
    image = tagged_image(image_store)
    overwrite(image_store, image.layers[0].digest, b"not the tar it was")
    problems = [str(p) for p in check_store(image_store).problems]
    assert any(p.startswith(f"blob {image.layers[0].digest}") and "corrupt" in p for p in problems)
    assert any("app:latest@1" in p and "is corrupt" in p for p in problems)


def test_a_missing_layer_blob_is_found(image_store):
    image = tagged_image(image_store)
    image_store.content.delete(image.layers[0].digest)
    problems = [str(p) for p in check_store(image_store).problems]
    assert problems == [f"image {image.id.short} (app:latest@1): layer {image.layers[0].digest} is missing"]


def test_a_missing_manifest_or_config_makes_the_image_unusable(image_store):
    image = tagged_image(image_store)
    image_store.content.delete(image.id)
    (problem,) = check_store(image_store).problems
    assert "missing" in problem.message and image.id in problem.message


def test_a_corrupt_config_is_reported_twice_as_blob_and_as_image(image_store):
    image = tagged_image(image_store)
    overwrite(image_store, image.id, b"{")
    subjects = [p.subject for p in check_store(image_store).problems]
    assert subjects == [f"blob {image.id}", f"image {image.id.short} (app:latest@1)"]


def test_a_stray_file_in_the_blob_directory_is_reported(image_store):
    (image_store.root.blobs / "sha256" / "notes.txt").write_text("hi")
    assert "stray file 'notes.txt'" in str(check_store(image_store).problems[0])


def test_a_root_holding_a_missing_image_is_reported(image_store):
    image = tagged_image(image_store)
    image_store.hold("cache:x", blob=image.layers[0].digest)
    image_store.content.delete(image.layers[0].digest)
    assert "cache:x: holds blob" in " ".join(str(p) for p in check_store(image_store).problems)


def test_a_snapshot_without_its_directory_is_reported(image_store):
    with Snapshotter(image_store.root) as snapshotter:
        snapshotter.prepare("key")
        shutil.rmtree(snapshotter.directory("key"))
    (problem,) = check_store(image_store).problems
    assert problem.subject == "snapshot key" and "is missing" in problem.message


def test_a_catalog_history_that_differs_from_the_config_is_reported(image_store):
    tagged_image(image_store)
    image_store.db.execute("UPDATE images SET layer_history = '[]'")
    (problem,) = check_store(image_store).problems
    assert "layer history differs" in problem.message
