"""EROFS layer images: built once, cached beside the layer dir."""

from __future__ import annotations

import shutil

import pytest

from dockpy.runtime.kvm import erofs

pytestmark = pytest.mark.skipif(shutil.which("mkfs.erofs") is None, reason="mkfs.erofs is not installed (erofs-utils)")


@pytest.fixture
def layer(tmp_path):
    directory = tmp_path / "snapshots" / "7" / "fs"
    (directory / "etc").mkdir(parents=True)
    (directory / "etc" / "file").write_text("content\n")
    return directory


def test_image_is_built_beside_the_layer_dir(layer):
    image = erofs.layer_image(layer)
    assert image.parent == layer.parent and image.name.startswith(".fs.") and image.suffix == ".erofs"
    assert image.read_bytes()[1024:1028] == b"\xe2\xe1\xf5\xe0"  # EROFS superblock magic


def test_second_request_reuses_the_image(layer):
    first = erofs.layer_image(layer)
    built = first.stat().st_mtime_ns
    assert erofs.layer_image(layer) == first and first.stat().st_mtime_ns == built


def test_recreated_dir_gets_a_new_image_and_the_stale_one_goes(layer):
    stale = erofs.layer_image(layer)
    shutil.rmtree(layer)
    layer.mkdir()
    fresh = erofs.layer_image(layer)
    assert fresh != stale and not stale.exists()
    assert sorted(path.name for path in layer.parent.iterdir()) == sorted(["fs", fresh.name])
