"""Docker archives: docker save's layout written for docker load, and read as docker, Docker 25 and podman write it."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from dockpy.errors import IntegrityError, InvalidInputError
from dockpy.image.archive import ArchiveFormat, load_archive
from dockpy.image.oci import OCI_LAYER_ZSTD
from dockpy.layers.compression import Compression, open_layer
from dockpy.layers.digests import Digest
from tests.image.archive.conftest import make_tar, save_to_bytes, tar_members


def save_docker(store, *references: str) -> dict:
    return tar_members(save_to_bytes(store, *references, archive_format=ArchiveFormat.DOCKER))


def test_manifest_json_names_the_config_tags_and_uncompressed_layers(source_store):
    members = save_docker(source_store, "localhost/app:1")
    image = source_store.resolve("localhost/app:1")
    (entry,) = json.loads(members["manifest.json"])
    assert entry["Config"] == f"{image.id.hex}.json" and entry["RepoTags"] == ["localhost/app:1"]
    assert entry["Layers"] == [f"{diff_id.hex}/layer.tar" for diff_id in image.config.rootfs.diff_ids]
    for path, diff_id in zip(entry["Layers"], image.config.rootfs.diff_ids):
        assert Digest.of_bytes(members[path]) == diff_id  # an uncompressed tar: its digest is its diff_id
    assert Digest.of_bytes(members[entry["Config"]]) == image.id


def test_repositories_points_each_tag_at_its_top_layer(source_store):
    members = save_docker(source_store, "busybox", "localhost/app:1")
    top = source_store.resolve("localhost/app:1").config.rootfs.diff_ids[-1]
    repositories = json.loads(members["repositories"])
    assert repositories["localhost/app"] == {"1": top.hex}
    assert set(repositories) == {"busybox", "localhost/app"}


def test_a_layer_shared_by_two_images_is_written_once(source_store):
    data = save_to_bytes(source_store, "busybox", "localhost/app:1", archive_format=ArchiveFormat.DOCKER)
    shared = source_store.resolve("busybox").config.rootfs.diff_ids[0]
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames().count(f"{shared.hex}/layer.tar") == 1


def test_a_docker_archive_cannot_take_a_layer_compression(source_store):
    with pytest.raises(InvalidInputError, match="uncompressed"):
        save_to_bytes(source_store, "busybox", archive_format=ArchiveFormat.DOCKER, compression=Compression.GZIP)


def test_round_trip_keeps_the_image_id_and_stores_layers_as_zstd(source_store, image_store):
    data = save_to_bytes(source_store, "localhost/app:1", archive_format=ArchiveFormat.DOCKER)
    (loaded,) = load_archive(image_store, io.BytesIO(data))
    original = source_store.resolve("localhost/app:1")
    assert loaded.image.id == original.id and loaded.tags == ("localhost/app:1",)
    assert {layer.media_type for layer in loaded.image.layers} == {OCI_LAYER_ZSTD}
    for layer in loaded.image.layers:
        with open_layer(image_store.content, layer.digest) as tar:
            tar.read()  # decompresses and verifies the blob


def podman_style(members: dict) -> bytes:
    """Rename layers to ``<hex>.tar`` with legacy ``<id>/layer.tar`` symlinks, as podman/skopeo write them."""
    (entry,) = json.loads(members["manifest.json"])
    files, symlinks, layers = {}, {}, []
    for path in entry["Layers"]:
        flat = path.replace("/layer.tar", ".tar")
        files[flat] = members[path]
        symlinks[f"legacy{len(layers)}/layer.tar"] = f"../{flat}"
        layers.append(f"legacy{len(layers)}/layer.tar")
    files[entry["Config"]] = members[entry["Config"]]
    files["manifest.json"] = json.dumps([{**entry, "Layers": layers}]).encode()
    return make_tar(files, symlinks=symlinks)


def test_podman_style_layers_behind_symlinks_load(source_store, image_store):
    (loaded,) = load_archive(image_store, io.BytesIO(podman_style(save_docker(source_store, "localhost/app:1"))))
    assert loaded.image.id == source_store.resolve("localhost/app:1").id


def test_docker_25_style_blob_paths_load(source_store, image_store):
    members = save_docker(source_store, "busybox")
    (entry,) = json.loads(members["manifest.json"])
    layer, config = members[entry["Layers"][0]], members[entry["Config"]]
    files = {f"blobs/sha256/{Digest.of_bytes(layer).hex}": layer, f"blobs/sha256/{Digest.of_bytes(config).hex}": config}
    files["manifest.json"] = json.dumps([{"Config": list(files)[1], "RepoTags": ["busybox:latest"],
                                          "Layers": [list(files)[0]]}]).encode()
    (loaded,) = load_archive(image_store, io.BytesIO(make_tar(files)))
    assert loaded.tags == ("busybox:latest",)


def test_untagged_images_load_without_tags(source_store, image_store):
    members = save_docker(source_store, source_store.resolve("busybox").id.short)
    (entry,) = json.loads(members["manifest.json"])
    assert "RepoTags" not in entry
    (loaded,) = load_archive(image_store, io.BytesIO(make_tar({k: v for k, v in members.items() if v is not None})))
    assert loaded.tags == ()


def test_a_layer_whose_content_differs_from_the_config_diff_id_is_refused(source_store, image_store):
    members = {k: v for k, v in save_docker(source_store, "localhost/app:1").items() if v is not None}
    (entry,) = json.loads(members["manifest.json"])
    members[entry["Layers"][1]], members[entry["Layers"][0]] = members[entry["Layers"][0]], members[entry["Layers"][1]]
    with pytest.raises(IntegrityError, match="diff id"):
        load_archive(image_store, io.BytesIO(make_tar(members)))
    assert image_store.images() == []


def test_a_config_named_for_another_digest_is_refused(source_store, image_store):
    members = {k: v for k, v in save_docker(source_store, "busybox").items() if v is not None}
    (entry,) = json.loads(members["manifest.json"])
    members[entry["Config"]] = members[entry["Config"]].replace(b'"os":"linux"', b'"os":"linux" ')
    with pytest.raises(IntegrityError, match="named for another digest"):
        load_archive(image_store, io.BytesIO(make_tar(members)))


def test_a_gzip_layer_tar_loads_like_a_plain_one(source_store, image_store):
    """docker load decompresses layer files of any compression; so does dockpy."""
    import gzip

    members = {k: v for k, v in save_docker(source_store, "busybox").items() if v is not None}
    (entry,) = json.loads(members["manifest.json"])
    members[entry["Layers"][0]] = gzip.compress(members[entry["Layers"][0]])
    (loaded,) = load_archive(image_store, io.BytesIO(make_tar(members)))
    assert loaded.image.id == source_store.resolve("busybox").id
