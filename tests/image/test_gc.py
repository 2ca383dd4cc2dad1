"""Garbage collection keeps everything any revision, container or cache entry reaches, and nothing else."""

import os
from pathlib import Path

import pytest

from dockpy.errors import ConflictError, IntegrityError
from dockpy.image.gc import collect_garbage
from dockpy.image.lease import write_lease
from dockpy.layers.digests import Digest
from dockpy.layers.mounts import Mount, mount_all, mount_points_below, unmount_all_below
from dockpy.layers.snapshots import Snapshotter
from tests.conftest import requires_root
from tests.image.conftest import put_test_image


def blobs_of(image):
    return {image.manifest_digest, image.id, *(layer.digest for layer in image.layers)}


def stored(store):
    return {blob.digest for blob in store.content.walk()}


def test_gc_keeps_every_revision_of_a_tag_not_only_the_current_one(image_store):
    old = put_test_image(image_store, {"v": b"1"})
    new = put_test_image(image_store, {"v": b"2"})
    image_store.add_revision("app", old, operation="import")
    image_store.add_revision("app", new, operation="import")
    report = collect_garbage(image_store)
    assert report.blobs == ()
    assert blobs_of(old) | blobs_of(new) <= stored(image_store)
    assert image_store.resolve("app@1").id == old.id


def test_gc_removes_images_no_revision_reaches(image_store):
    kept = put_test_image(image_store, {"shared": b"s"}, {"kept": b"k"})
    dropped = put_test_image(image_store, {"shared": b"s"}, {"dropped": b"d"})
    image_store.add_revision("app", kept, operation="import")
    report = collect_garbage(image_store)
    assert report.image_ids == (dropped.id,)
    assert stored(image_store) == blobs_of(kept)
    assert {b.digest for b in report.blobs} == blobs_of(dropped) - blobs_of(kept)
    assert report.reclaimed_bytes == sum(b.size for b in report.blobs)


def test_gc_after_untag_removes_the_whole_history(image_store):
    for version in (b"1", b"2"):
        image_store.add_revision("app", put_test_image(image_store, {"v": version}), operation="import")
    image_store.untag("app")
    collect_garbage(image_store)
    assert stored(image_store) == set()


def test_a_dry_run_reports_without_deleting(image_store):
    image = put_test_image(image_store, {"a": b"1"})
    report = collect_garbage(image_store, dry_run=True)
    assert report.image_ids == (image.id,) and len(report.blobs) == 3
    assert stored(image_store) == blobs_of(image)


def test_gc_keeps_images_and_blobs_held_by_other_packages(image_store):
    held_image = put_test_image(image_store, {"a": b"1"})
    cached = image_store.content.put_bytes(b"a cached layer")
    image_store.hold("container:abc", image_id=held_image.id)
    image_store.hold("cache:step1", blob=cached.digest)
    collect_garbage(image_store)
    assert blobs_of(held_image) | {cached.digest} <= stored(image_store)
    image_store.release("container:abc")
    image_store.release("cache:step1")
    collect_garbage(image_store)
    assert stored(image_store) == set()


def test_gc_removes_unreferenced_blobs_and_stale_ingest_files(image_store):
    loose = image_store.content.put_bytes(b"nobody points here")
    ingest = image_store.root.tmp / "ingest-crashed"
    ingest.write_bytes(b"half a blob")
    report = collect_garbage(image_store)
    assert [b.digest for b in report.blobs] == [loose.digest]
    assert report.temp_files == (ingest,) and not ingest.exists()


def test_gc_removes_the_scratch_directories_of_a_killed_build(image_store):
    run = image_store.root.tmp / "build-run-killed"
    (run / "rootfs").mkdir(parents=True)
    stdin_dockerfile = image_store.root.tmp / "dockerfile-stdin-0123"  # written before the build's lease
    stdin_dockerfile.write_text("FROM scratch\n")
    report = collect_garbage(image_store)
    assert report.temp_files == (run,) and not run.exists() and stdin_dockerfile.exists()


@requires_root
def test_gc_detaches_what_a_killed_build_left_mounted_and_never_deletes_through_it(image_store, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me")
    leftover = image_store.root.tmp / "build-view-killed"
    (leftover / "deep").mkdir(parents=True)
    mount_all([Mount("bind", str(outside))], leftover / "deep")
    mount_all([Mount("tmpfs", "tmpfs")], leftover)  # stacked on the tree, as a killed RUN's tmpfs
    try:
        report = collect_garbage(image_store)
    finally:
        unmount_all_below(leftover)  # only if gc failed to
    assert report.temp_files == (leftover,) and not leftover.exists()
    assert (outside / "precious").read_text() == "keep me"
    assert not mount_points_below(image_store.root.path)


def test_gc_removes_committed_snapshots_of_unreachable_layers_and_crashed_unpacks_and_builds(image_store):
    kept = put_test_image(image_store, {"k": b"1"})
    image_store.add_revision("app", kept, operation="import")
    kept_chain = kept.config.rootfs.diff_ids[0]
    with Snapshotter(image_store.root) as snapshotter:
        for name in (kept_chain, Digest.of_bytes(b"gone")):
            snapshotter.prepare("extract-tmp")
            snapshotter.commit(name, "extract-tmp")
        snapshotter.prepare("extract-123")  # as a crashed unpack leaves it
        snapshotter.prepare("build-456", parent=kept_chain)  # as a build killed mid-step leaves it
        snapshotter.prepare("container-key", parent=kept_chain)
        report = collect_garbage(image_store)
        assert sorted(s.name for s in report.snapshots) == sorted([Digest.of_bytes(b"gone"), "extract-123", "build-456"])
        assert {s.name for s in snapshotter.walk()} == {kept_chain, "container-key"}


def test_gc_stops_before_deleting_anything_when_a_reachable_manifest_is_unreadable(image_store):
    image = put_test_image(image_store, {"a": b"1"})
    image_store.add_revision("app", image, operation="import")
    loose = image_store.content.put_bytes(b"loose")
    os.chmod(image_store.content.path(image.manifest_digest), 0o644)
    Path(image_store.content.path(image.manifest_digest)).write_bytes(b"{}")
    with pytest.raises(IntegrityError, match="nothing was deleted"):
        collect_garbage(image_store)
    assert image_store.content.has(loose.digest)


def test_gc_waits_for_writers_or_refuses_without_waiting(image_store):
    with write_lease(image_store.root):
        with pytest.raises(ConflictError, match="another dockpy process"):
            collect_garbage(image_store, wait=False)


def test_gc_scoped_to_removed_images_leaves_other_untagged_images(image_store):
    removed = put_test_image(image_store, {"shared": b"s"}, {"mine": b"m"})
    bystander = put_test_image(image_store, {"shared": b"s"}, {"other": b"o"})
    image_store.add_revision("app", removed, operation="import")
    loose = image_store.content.put_bytes(b"unrelated garbage")
    removal = image_store.remove_image("app")
    report = collect_garbage(image_store, only_images=removal.manifests)
    assert report.image_ids == (removed.id,)
    assert stored(image_store) == blobs_of(bystander) | {loose.digest}


def test_dropping_one_of_two_manifests_of_a_config_keeps_the_image_id(image_store):
    tagged = put_test_image(image_store, {"a": b"1"})
    image_store.add_revision("app", tagged, operation="import")
    twin = image_store.put_image(tagged.config, tagged.layers, annotations={"variant": "twin"})
    report = collect_garbage(image_store)
    assert report.image_ids == ()
    assert [b.digest for b in report.blobs] == [twin.manifest_digest]
    assert image_store.resolve(tagged.id).manifest_digest == tagged.manifest_digest


def test_a_stray_file_in_the_blob_directory_does_not_stop_gc(image_store):
    (image_store.root.blobs / "sha256" / "notes.txt").write_text("not a blob")
    assert collect_garbage(image_store).blobs == ()
