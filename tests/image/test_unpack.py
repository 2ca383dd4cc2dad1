"""Unpacking images into chain-id snapshots, in overlay form."""

import os
import stat

import pytest

from dockpy.errors import NotFoundError

from dockpy.image.unpack import unpack_image
from dockpy.layers.digests import chain_ids
from dockpy.layers.snapshots import Kind, Snapshotter
from tests.conftest import requires_root
from tests.image.conftest import put_test_image

pytestmark = requires_root  # overlay whiteouts are 0/0 devices; opaque dirs carry trusted.* xattrs


def test_each_layer_becomes_a_committed_snapshot_named_by_its_chain_id(image_store):
    image = put_test_image(image_store, {"a": b"1"}, {"b": b"2"})
    with Snapshotter(image_store.root) as snapshotter:
        directories = unpack_image(image_store, image, snapshotter)
        names = [s.name for s in snapshotter.walk() if s.kind == Kind.COMMITTED]
    assert names == chain_ids(image.config.rootfs.diff_ids)
    assert [sorted(os.listdir(d)) for d in directories] == [["b"], ["a"]]  # top-most first


def test_whiteouts_and_opaque_dirs_are_written_in_overlay_form(image_store):
    image = put_test_image(image_store, {"d/": None, "d/x": b"1", "f": b"2"},
                           {".wh.f": b"", "d/": None, "d/.wh..wh..opq": b""})
    with Snapshotter(image_store.root) as snapshotter:
        top = unpack_image(image_store, image, snapshotter)[0]
    whiteout = os.lstat(top / "f")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0
    assert os.getxattr(top / "d", "trusted.overlay.opaque") == b"y"


def test_unpacking_again_reuses_the_snapshots(image_store):
    first = put_test_image(image_store, {"a": b"1"})
    second = put_test_image(image_store, {"a": b"1"}, {"b": b"2"})
    with Snapshotter(image_store.root) as snapshotter:
        unpack_image(image_store, first, snapshotter)
        unpack_image(image_store, second, snapshotter)
        unpack_image(image_store, second, snapshotter)
        assert len(snapshotter.walk()) == 2


def test_a_failed_unpack_leaves_no_active_snapshot(image_store):
    image = put_test_image(image_store, {"a": b"1"})
    image_store.content.delete(image.layers[0].digest)
    with Snapshotter(image_store.root) as snapshotter:
        with pytest.raises(NotFoundError):
            unpack_image(image_store, image, snapshotter)
        assert snapshotter.walk() == []
