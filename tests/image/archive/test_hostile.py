"""Hostile and broken archives: each fails with one clear error and leaves the store exactly as it was."""

from __future__ import annotations

import io
import json

import pytest

from dockpy.errors import DockpyError, IntegrityError, InvalidInputError, UnsafeArchiveError
from dockpy.image.archive import ArchiveFormat, load_archive
from dockpy.image.archive.contents import MAX_DOCUMENT_SIZE
from dockpy.image.oci import Descriptor, ImageConfig, Index, Manifest, encode
from dockpy.layers.digests import Digest
from tests.image.archive.conftest import make_tar, save_to_bytes, tar_members
from tests.image.conftest import put_test_image
from tests.store_listing import store_listing


@pytest.fixture
def target(image_store):
    """A store that already holds an image, so 'unchanged' means something."""
    put_test_image(image_store, {"etc": None, "etc/hostname": b"target\n"})
    image_store.add_revision("existing:1", image_store.images()[0].manifest_digest, operation="build")
    return image_store


@pytest.fixture(scope="module")
def good_members(source_store) -> dict[str, bytes]:
    """The regular files of an OCI archive of localhost/app:1 (two layers)."""
    return {k: v for k, v in tar_members(save_to_bytes(source_store, "localhost/app:1")).items() if v is not None}


@pytest.fixture(scope="module")
def app_image(source_store):
    return source_store.resolve("localhost/app:1")


def assert_load_fails(store, data: bytes, error: type[DockpyError], match: str) -> DockpyError:
    before = store_listing(store.root.path)
    with pytest.raises(error, match=match) as caught:
        load_archive(store, io.BytesIO(data), source_name="hostile.tar")
    assert "\n" not in str(caught.value)
    assert store_listing(store.root.path) == before
    return caught.value


def test_path_traversal_is_refused(target, good_members):
    assert_load_fails(target, make_tar({**good_members, "../../../tmp/evil": b"x"}), UnsafeArchiveError, r"'\.\.'")


def test_an_absolute_member_name_is_refused(target, good_members):
    assert_load_fails(target, make_tar({"/etc/cron.d/evil": b"x", **good_members}), UnsafeArchiveError, "absolute")


def test_a_blob_symlinked_out_of_the_archive_is_refused(target, good_members, app_image):
    layer = f"blobs/sha256/{app_image.layers[1].digest.hex}"
    members = {k: v for k, v in good_members.items() if k != layer}
    assert_load_fails(target, make_tar(members, symlinks={layer: "../../../../etc/passwd"}), UnsafeArchiveError,
                      "outside the archive")


def test_a_blob_that_does_not_match_its_digest_is_refused(target, good_members, app_image):
    layer = f"blobs/sha256/{app_image.layers[1].digest.hex}"
    corrupt = bytearray(good_members[layer])
    corrupt[len(corrupt) // 2] ^= 0xFF
    assert_load_fails(target, make_tar({**good_members, layer: bytes(corrupt)}), IntegrityError, "digest mismatch")


def test_a_truncated_archive_is_refused(target, good_members):
    data = make_tar(good_members)
    assert_load_fails(target, data[: len(data) // 2], UnsafeArchiveError, "truncated")


def test_an_archive_cut_at_a_member_boundary_is_refused(target, good_members):
    data = make_tar(good_members)
    end_of_last_member = len(data.rstrip(b"\0"))
    assert_load_fails(target, data[: -(-end_of_last_member // 512) * 512], UnsafeArchiveError, "truncated")


def test_a_missing_layer_blob_is_refused(target, good_members, app_image):
    layer = f"blobs/sha256/{app_image.layers[0].digest.hex}"
    members = {k: v for k, v in good_members.items() if k != layer}
    assert_load_fails(target, make_tar(members), UnsafeArchiveError, f"missing blob {app_image.layers[0].digest}")


def test_an_oversize_index_is_refused(target, good_members):
    index = good_members["index.json"] + b" " * MAX_DOCUMENT_SIZE
    assert_load_fails(target, make_tar({**good_members, "index.json": index}), UnsafeArchiveError,
                      "more than the 4194304 bytes allowed")


def test_index_json_that_is_not_json_is_refused(target, good_members):
    assert_load_fails(target, make_tar({**good_members, "index.json": b'{"manifests": [}'}), InvalidInputError,
                      "index.json: not valid JSON")


def test_a_manifest_of_the_wrong_shape_is_refused(target, good_members, app_image):
    bad = b'{"schemaVersion": 2, "config": "nope", "layers": []}'
    members = rewrite_index_to(good_members, bad, app_image)
    assert_load_fails(target, make_tar(members), InvalidInputError, "config: expected a JSON object")


def test_a_descriptor_size_that_differs_from_the_blob_is_refused(target, good_members, app_image):
    manifest = app_image.manifest
    lying = Manifest(manifest.config, (manifest.layers[0], Descriptor(manifest.layers[1].media_type,
                                                                       manifest.layers[1].digest, 3)))
    members = rewrite_index_to(good_members, encode(lying), app_image)
    assert_load_fails(target, make_tar(members), IntegrityError, "descriptor says 3")


def test_a_layer_whose_diff_id_is_a_lie_is_refused(target, good_members, app_image):
    """Snapshots are keyed by chain id: a layer must decompress to the tar its config's diff_id names."""
    config = app_image.config
    lying_ids = (config.rootfs.diff_ids[0], config.rootfs.diff_ids[0])  # the app layer claims busybox's diff_id
    lying_config = encode(ImageConfig.from_json({**config.to_json(), "rootfs": {"type": "layers",
                                                                               "diff_ids": list(lying_ids)}}))
    config_digest = Digest.of_bytes(lying_config)
    manifest = Manifest(Descriptor(app_image.manifest.config.media_type, config_digest, len(lying_config)),
                        app_image.layers)
    members = rewrite_index_to({**good_members, f"blobs/sha256/{config_digest.hex}": lying_config}, encode(manifest),
                               app_image)
    assert_load_fails(target, make_tar(members), IntegrityError, "decompresses to diff id")


def test_a_tar_that_is_no_image_archive_is_refused(target):
    assert_load_fails(target, make_tar({"hello.txt": b"hi"}), UnsafeArchiveError, "not an image archive")


def test_random_bytes_are_refused(target):
    assert_load_fails(target, bytes(range(256)) * 8, UnsafeArchiveError, "checksum|tar")


def test_a_docker_archive_with_a_hostile_layer_tar_is_refused(target, source_store):
    members = {k: v for k, v in tar_members(save_to_bytes(source_store, "busybox",
                                                           archive_format=ArchiveFormat.DOCKER)).items() if v is not None}
    (entry,) = json.loads(members["manifest.json"])
    members[entry["Layers"][0]] = make_tar({"../../etc/passwd": b"root::0:0::/:/bin/sh\n"})
    assert_load_fails(target, make_tar(members), UnsafeArchiveError, r"'\.\.'")


def test_an_unparsable_name_is_refused_before_anything_is_published(target, good_members):
    index = json.loads(good_members["index.json"])
    index["manifests"][0]["annotations"] = {"io.containerd.image.name": "UPPER/Case:tag"}
    members = {**good_members, "index.json": json.dumps(index).encode()}
    assert_load_fails(target, make_tar(members), InvalidInputError, "UPPER/Case")


def rewrite_index_to(members: dict[str, bytes], manifest: bytes, app_image) -> dict[str, bytes]:
    """``members`` with ``manifest`` added as a blob and the index pointing at it instead."""
    digest = Digest.of_bytes(manifest)
    index = Index((Descriptor(app_image.manifest.media_type, digest, len(manifest),
                              annotations={"io.containerd.image.name": "localhost/app:1"}),))
    return {**members, f"blobs/sha256/{digest.hex}": manifest, "index.json": encode(index)}


def test_a_load_that_crashed_leaves_only_what_gc_removes(target, good_members):
    """A process killed mid-load leaves its staging directory; nothing names it, and gc deletes it."""
    from dockpy.image.staging import StagingStore
    from dockpy.image.gc import collect_garbage

    files_before, _ = store_listing(target.root.path)
    staging = StagingStore(target.content, "load")  # never closed: the process "died" here
    staging.stage(io.BytesIO(b"half an archive"), None, len(b"half an archive"))
    collect_garbage(target)
    assert not staging.path.exists()
    assert store_listing(target.root.path)[0] == files_before  # gc's own tables may appear in the database
