"""Overlay mounts of many layers: the option string must fit in a page, or go layer by layer."""

from __future__ import annotations

import os
import platform

import pytest

from dockpy import linux
from dockpy.layers import mounts as mounts_module
from dockpy.layers.mounts import Mount, mount_overlay_per_layer, mount_overlay_relative
from tests.conftest import requires_root
from tests.layers.conftest import read_tree, write_tree

LAYERS = 200


def kernel_at_least(major: int, minor: int) -> bool:
    release = platform.release().split("-")[0].split(".")
    return (int(release[0]), int(release[1])) >= (major, minor)


def test_relative_to_rewrites_every_path_from_the_base():
    spec = Mount("overlay", "overlay", ("index=off",), ("/r/s/2/fs", "/r/s/1/fs"), "/r/s/3/fs", "/r/s/3/work")
    assert spec.relative_to("/r/s").overlay_data() == "lowerdir=2/fs:1/fs,upperdir=3/fs,workdir=3/work,index=off"


def test_overlay_paths_with_separators_are_escaped():
    spec = Mount("overlay", "overlay", lowerdirs=("/a:b", "/c,d"))
    assert spec.overlay_data() == "lowerdir=/a\\:b:/c\\,d"


def test_a_call_in_another_directory_leaves_the_process_working_directory_alone(tmp_path):
    before = os.getcwd()
    assert linux.call_in_directory(tmp_path, os.getcwd) == str(tmp_path)
    assert os.getcwd() == before


def test_an_error_in_another_directory_reaches_the_caller(tmp_path):
    with pytest.raises(FileNotFoundError):
        linux.call_in_directory(tmp_path / "missing", os.getcwd)


@pytest.fixture
def many_layers(tmp_path):
    """200 one-file layers under a long path, plus an upper and a work dir beside them."""
    base = tmp_path / ("long-directory-name-" * 4) / "snapshots"
    lowers = [str(write_tree(base / str(i) / "fs", {f"f{i}": str(i)})) for i in range(LAYERS)]
    (base / "upper/fs").mkdir(parents=True)
    (base / "upper/work").mkdir()
    spec = Mount("overlay", "overlay", ("index=off",), tuple(lowers), str(base / "upper/fs"), str(base / "upper/work"))
    assert len(spec.overlay_data()) > mounts_module.PAGE_SIZE
    return spec, base


def assert_all_layers_visible(merged):
    tree = read_tree(merged)
    assert len(tree) == LAYERS and tree["f0"] == "0" and tree[f"f{LAYERS - 1}"] == str(LAYERS - 1)


@requires_root
def test_a_too_long_overlay_is_mounted_with_relative_paths(many_layers, mounts, tmp_path, monkeypatch):
    spec, _ = many_layers
    monkeypatch.setattr(linux, "mount_filesystem", None)  # the new mount API must not be needed
    assert_all_layers_visible(mounts.mount([spec], tmp_path / "merged"))


@requires_root
def test_relative_mount_from_the_common_directory(many_layers, mounts, tmp_path):
    spec, base = many_layers
    merged = tmp_path / "merged"
    merged.mkdir()
    mount_overlay_relative(spec, merged, base)
    mounts.targets.append(merged)
    assert_all_layers_visible(merged)
    (merged / "new").write_text("n")
    assert (base / "upper/fs/new").read_text() == "n"


@requires_root
@pytest.mark.skipif(not kernel_at_least(6, 8), reason="lowerdir+ needs Linux 6.8 or later")
def test_an_overlay_too_long_even_relative_is_mounted_layer_by_layer(many_layers, mounts, tmp_path, monkeypatch):
    spec, _ = many_layers
    monkeypatch.setattr(mounts_module, "PAGE_SIZE", 64)  # nothing fits: only lowerdir+ is left
    monkeypatch.setattr(mounts_module, "mount_overlay_relative", None)
    assert_all_layers_visible(mounts.mount([spec], tmp_path / "merged"))


@requires_root
@pytest.mark.skipif(not kernel_at_least(6, 8), reason="lowerdir+ needs Linux 6.8 or later")
def test_mount_layer_by_layer_directly(many_layers, mounts, tmp_path):
    spec, _ = many_layers
    merged = tmp_path / "merged"
    merged.mkdir()
    mount_overlay_per_layer(spec, merged)
    mounts.targets.append(merged)
    assert_all_layers_visible(merged)


@requires_root
def test_mount_points_below_a_directory_come_newest_first_with_escaped_names_read_back(tmp_path):
    top = tmp_path / "top dir"
    (top / "a" / "b").mkdir(parents=True)
    mounts_module.mount_all([Mount("tmpfs", "tmpfs")], top / "a")
    try:
        (top / "a" / "b").mkdir()
        mounts_module.mount_all([Mount("tmpfs", "tmpfs")], top / "a" / "b")
        assert mounts_module.mount_points_below(top) == [str(top / "a" / "b"), str(top / "a")]
        assert mounts_module.mount_points_below(tmp_path / "top") == []
    finally:
        mounts_module.unmount_all_below(top)
    assert mounts_module.mount_points_below(top) == []
