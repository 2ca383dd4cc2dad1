"""Base images of FROM lines and runs: the offline templates as images."""

import os

import pytest

from dockpy.errors import NotFoundError
from dockpy.image.base_images import find_base_image
from dockpy.image.store import ImageStore
from dockpy.image.templates import BUSYBOX_BINARY
from dockpy.image.timestamps import parse_timestamp
from dockpy.root import StorageRoot
from tests.conftest import requires_root

pytestmark = [requires_root, pytest.mark.skipif(not BUSYBOX_BINARY.exists(), reason=f"needs {BUSYBOX_BINARY}")]


def template_image(root_dir, epoch=None):
    with ImageStore(StorageRoot(root_dir).create()) as store:
        return find_base_image(store, "busybox", epoch=epoch)


def test_the_busybox_template_is_the_same_image_in_two_roots(tmp_path):
    """CI runners that make busybox from the same package get one image, so a build cache they share matches."""
    assert template_image(tmp_path / "one").id == template_image(tmp_path / "two").id


def test_the_busybox_template_is_dated_when_its_binary_was_built(tmp_path):
    image = template_image(tmp_path / "root")
    assert parse_timestamp(image.config.created) == int(os.stat(BUSYBOX_BINARY).st_mtime)


def test_source_date_epoch_still_dates_the_busybox_template(tmp_path):
    assert parse_timestamp(template_image(tmp_path / "root", epoch=1_700_000_000).config.created) == 1_700_000_000


def test_a_missing_revision_of_a_template_is_an_error_not_a_new_template_image(tmp_path):
    root = StorageRoot(tmp_path / "root").create()
    with ImageStore(root) as store:
        find_base_image(store, "busybox", epoch=None)
        with pytest.raises(NotFoundError, match="busybox:latest has no revision 2") as raised:
            find_base_image(store, "busybox@2", epoch=None)
        assert raised.value.hint is None
        assert len(store.log("busybox")) == 1


def test_a_debian_version_tag_is_no_template_but_a_missing_image(tmp_path):
    """``debian:12`` or ``debian:10.13`` name versions, not suites debootstrap knows: pull them."""
    with ImageStore(StorageRoot(tmp_path / "root").create()) as store, pytest.raises(NotFoundError) as raised:
        find_base_image(store, "debian:10.13", epoch=None)
    assert raised.value.message == "no such image: debian:10.13" and "dockpy pull debian:10.13" in raised.value.hint
