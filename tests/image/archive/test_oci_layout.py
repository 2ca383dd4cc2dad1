"""OCI image layouts: what save writes, what load reads, as a tar, a stream or a directory."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from dockpy.errors import IntegrityError
from dockpy.image.archive import ArchiveFormat, DirectoryArchiveWriter, load_archive, save_images
from dockpy.image.archive.oci_layout import CONTAINERD_NAME, REF_NAME
from dockpy.image.oci import OCI_INDEX, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, Descriptor, Index, Manifest, Platform, encode
from dockpy.layers.compression import Compression
from dockpy.layers.digests import Digest
from tests.image.archive.conftest import make_tar, save_to_bytes, tar_members
from tests.image.conftest import put_test_image


def index_of(members: dict) -> dict:
    return json.loads(members["index.json"])


def test_save_writes_the_layout_version_the_index_and_each_blob(source_store):
    members = tar_members(save_to_bytes(source_store, "busybox"))
    image = source_store.resolve("busybox")
    assert json.loads(members["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    blobs = {name.removeprefix("blobs/sha256/") for name in members if name.startswith("blobs/sha256/") and members[name]}
    assert blobs == {image.manifest_digest.hex, image.id.hex, image.layers[0].digest.hex}
    for name, content in members.items():
        if name.startswith("blobs/sha256/") and content is not None:
            assert Digest.of_bytes(content).hex == name.rsplit("/", 1)[1]


def test_index_entries_carry_the_tag_and_the_full_name(source_store):
    entry = index_of(tar_members(save_to_bytes(source_store, "localhost/app:1")))["manifests"][0]
    assert entry["annotations"] == {CONTAINERD_NAME: "localhost/app:1", REF_NAME: "1"}
    assert entry["digest"] == source_store.find("localhost/app:1")


def test_a_blob_shared_by_two_images_is_written_once(source_store):
    data = save_to_bytes(source_store, "busybox", "localhost/app:1")
    shared = source_store.resolve("busybox").layers[0].digest
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames().count(f"blobs/sha256/{shared.hex}") == 1
    assert len(index_of(tar_members(data))["manifests"]) == 2


def test_an_image_named_by_id_is_saved_without_a_name(source_store):
    image = source_store.resolve("busybox")
    entry = index_of(tar_members(save_to_bytes(source_store, image.id.short)))["manifests"][0]
    assert "annotations" not in entry


def test_saving_twice_gives_the_same_bytes(source_store):
    assert save_to_bytes(source_store, "localhost/app:1") == save_to_bytes(source_store, "localhost/app:1")


def test_round_trip_keeps_manifest_digest_image_id_and_tags(source_store, image_store):
    data = save_to_bytes(source_store, "busybox", "localhost/app:1")
    loaded = load_archive(image_store, io.BytesIO(data), source_name="test")
    assert [item.tags for item in loaded] == [("busybox:latest",), ("localhost/app:1",)]
    for reference in ("busybox:latest", "localhost/app:1"):
        assert image_store.find(reference) == source_store.find(reference)
        assert image_store.log(reference)[0].operation == "load"
    for layer in image_store.resolve("localhost/app:1").layers:
        image_store.content.verify(layer.digest)


def test_gzip_compression_rewrites_layers_and_manifest_but_not_the_config(source_store, image_store):
    data = save_to_bytes(source_store, "localhost/app:1", compression=Compression.GZIP)
    (loaded,) = load_archive(image_store, io.BytesIO(data))
    original = source_store.resolve("localhost/app:1")
    assert loaded.image.id == original.id
    assert loaded.image.manifest_digest != original.manifest_digest
    assert {layer.media_type for layer in loaded.image.layers} == {OCI_LAYER_GZIP}
    assert loaded.image.config.rootfs.diff_ids == original.config.rootfs.diff_ids


def test_compression_as_stored_keeps_the_manifest(source_store):
    original = source_store.resolve("busybox")
    entry = index_of(tar_members(save_to_bytes(source_store, "busybox", compression=Compression.ZSTD)))["manifests"][0]
    assert entry["digest"] == original.manifest_digest
    assert original.layers[0].media_type == OCI_LAYER_ZSTD


def test_saving_gzip_leaves_the_source_store_without_new_blobs(source_store):
    before = set((source_store.root.blobs / "sha256").iterdir())
    save_to_bytes(source_store, "busybox", compression=Compression.GZIP)
    assert set((source_store.root.blobs / "sha256").iterdir()) == before


def test_a_layout_directory_saves_and_loads(source_store, image_store, tmp_path):
    layout = tmp_path / "layout"
    with DirectoryArchiveWriter(layout) as writer:
        save_images(source_store, ["localhost/app:1"], writer, archive_format=ArchiveFormat.OCI)
    assert sorted(p.name for p in layout.iterdir()) == ["blobs", "index.json", "oci-layout"]
    (loaded,) = load_archive(image_store, layout)
    assert loaded.tags == ("localhost/app:1",)


def test_saving_into_a_non_empty_directory_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(Exception, match="not empty"):
        DirectoryArchiveWriter(tmp_path)


def test_a_save_that_fails_half_way_removes_what_it_wrote(image_store, tmp_path):
    image = put_test_image(image_store, {"a": b"first layer"}, {"b": b"second layer"})
    image_store.add_revision("broken:1", image, operation="build")
    corrupt = Path(image_store.content.path(image.layers[1].digest))
    corrupt.chmod(0o644)
    corrupt.write_bytes(corrupt.read_bytes().replace(b"second layer", b"SECOND LAYER"))
    layout = tmp_path / "layout"
    with pytest.raises(IntegrityError, match="corrupt"):
        with DirectoryArchiveWriter(layout) as writer:
            save_images(image_store, ["broken:1"], writer, archive_format=ArchiveFormat.OCI)
    assert not layout.exists()


def test_a_bare_tag_ref_name_loads_the_image_untagged(source_store, image_store):
    members = tar_members(save_to_bytes(source_store, "busybox"))
    index = index_of(members)
    index["manifests"][0]["annotations"] = {REF_NAME: "latest"}
    members["index.json"] = json.dumps(index).encode()
    (loaded,) = load_archive(image_store, io.BytesIO(make_tar({k: v for k, v in members.items() if v is not None})))
    assert loaded.tags == ()
    assert image_store.images()[0].repository is None


def test_a_full_reference_in_ref_name_names_the_image(source_store, image_store):
    members = tar_members(save_to_bytes(source_store, "busybox"))
    index = index_of(members)
    index["manifests"][0]["annotations"] = {REF_NAME: "localhost/bb:2"}
    members["index.json"] = json.dumps(index).encode()
    (loaded,) = load_archive(image_store, io.BytesIO(make_tar({k: v for k, v in members.items() if v is not None})))
    assert loaded.tags == ("localhost/bb:2",)


def test_a_nested_index_yields_the_host_platform_manifest(source_store, image_store):
    members = {k: v for k, v in tar_members(save_to_bytes(source_store, "busybox")).items() if v is not None}
    top = index_of(members)["manifests"][0]
    host = Platform.host()
    other = Descriptor(top["mediaType"], Digest("sha256:" + "0" * 64), 1, platform=Platform("s390x", "linux"))
    mine = Descriptor(top["mediaType"], Digest(top["digest"]), top["size"], platform=host)
    nested = encode(Index((other, mine)))
    members[f"blobs/sha256/{Digest.of_bytes(nested).hex}"] = nested
    members["index.json"] = encode(Index((Descriptor(OCI_INDEX, Digest.of_bytes(nested), len(nested),
                                                     annotations=top["annotations"]),)))
    (loaded,) = load_archive(image_store, io.BytesIO(make_tar(members)))
    assert loaded.image.manifest_digest == top["digest"] and loaded.tags == ("busybox:latest",)


def test_a_docker_25_archive_with_both_index_and_manifest_json_loads_as_oci(source_store, image_store):
    members = {k: v for k, v in tar_members(save_to_bytes(source_store, "busybox")).items() if v is not None}
    members["manifest.json"] = b"[]"
    (loaded,) = load_archive(image_store, io.BytesIO(make_tar(members)))
    assert loaded.image.manifest_digest == source_store.find("busybox")


def test_loading_the_same_archive_twice_adds_no_revision(source_store, image_store):
    data = save_to_bytes(source_store, "busybox")
    load_archive(image_store, io.BytesIO(data))
    load_archive(image_store, io.BytesIO(data))
    assert len(image_store.log("busybox")) == 1


def test_the_manifest_type_is_kept(source_store):
    manifest_digest = source_store.find("busybox")
    members = tar_members(save_to_bytes(source_store, "busybox"))
    manifest = Manifest.from_json(json.loads(members[f"blobs/sha256/{manifest_digest.hex}"]))
    assert index_of(members)["manifests"][0]["mediaType"] == manifest.media_type
