"""diff IMAGE IMAGE: docker diff's A/C/D rules between two images or two revisions of a tag."""

import pytest

from dockpy.errors import NotFoundError
from dockpy.image.image_diff import diff_images
from tests.conftest import requires_root
from tests.image.conftest import put_test_image

pytestmark = requires_root  # unpacking writes overlay whiteouts (0/0 devices) and trusted.* xattrs

BASE = {"etc/": None, "etc/a": b"1", "etc/b": b"2", "usr/": None, "usr/lib/": None, "usr/lib/x": b"x"}


def lines(changes):
    return [str(change) for change in changes]


def test_added_changed_and_deleted_paths_follow_docker_rules(image_store):
    old = put_test_image(image_store, BASE)
    new = put_test_image(image_store, BASE, {
        "etc/": None, "etc/a": b"changed!", "etc/.wh.b": b"", "usr/": None, "usr/.wh.lib": b"",
        "opt/": None, "opt/new/": None, "opt/new/file": b"n",
    })
    assert lines(diff_images(image_store, old.id, new.id)) == [
        "C /etc", "C /etc/a", "D /etc/b", "A /opt", "A /opt/new", "A /opt/new/file", "C /usr", "D /usr/lib",
    ]


def test_the_reverse_diff_swaps_adds_and_deletes(image_store):
    old = put_test_image(image_store, {"a": b"1"})
    new = put_test_image(image_store, {"a": b"1", "d/": None, "d/f": b"2"})
    assert lines(diff_images(image_store, new.id, old.id)) == ["D /d"]


def test_revisions_of_a_tag_can_be_compared(image_store):
    image_store.add_revision("app", put_test_image(image_store, {"v": b"1"}), operation="import")
    image_store.add_revision("app", put_test_image(image_store, {"v": b"22"}), operation="import")
    assert lines(diff_images(image_store, "app@1", "app")) == ["C /v"]


def test_an_image_compared_with_itself_has_no_changes(image_store):
    image = put_test_image(image_store, BASE)
    assert diff_images(image_store, image.id, image.id) == []


def test_shared_bottom_layers_are_unpacked_once(image_store):
    from dockpy.layers.snapshots import Snapshotter

    old = put_test_image(image_store, BASE)
    new = put_test_image(image_store, BASE, {"extra": b"e"})
    diff_images(image_store, old.id, new.id)
    with Snapshotter(image_store.root) as snapshotter:
        assert len(snapshotter.walk()) == 2


def test_an_unknown_image_is_not_found(image_store):
    image = put_test_image(image_store, BASE)
    with pytest.raises(NotFoundError):
        diff_images(image_store, image.id, "ghost")
