"""The runtime's memo of an image's config and layer chain, kept beside the catalog's image row."""

import time

import pytest

from dockpy.image import catalog
from dockpy.image.catalog import ImageRow
from dockpy.runtime.image_cache import RunConfig, cached_run_config, remember_run_config

MANIFEST = "sha256:" + "1" * 64
IMAGE_ID = "sha256:" + "2" * 64
CHAIN = ("sha256:" + "3" * 64, "sha256:" + "4" * 64)


@pytest.fixture
def db(storage_root):
    connection = catalog.open_catalog(storage_root)
    catalog.insert_image(connection, ImageRow(MANIFEST, IMAGE_ID, 10, None, time.time(), "[]"))
    yield connection
    connection.close()


def test_a_remembered_run_config_is_read_back(db):
    remember_run_config(db, MANIFEST, RunConfig(IMAGE_ID, {"Cmd": ["sh"]}, CHAIN))
    assert cached_run_config(db, MANIFEST) == RunConfig(IMAGE_ID, {"Cmd": ["sh"]}, CHAIN)


def test_an_image_never_run_has_no_run_config(db):
    assert cached_run_config(db, MANIFEST) is None


def test_the_run_config_goes_with_its_image(db):
    remember_run_config(db, MANIFEST, RunConfig(IMAGE_ID, {}, CHAIN))
    catalog.delete_images(db, [MANIFEST])
    assert cached_run_config(db, MANIFEST) is None


def test_an_image_removed_meanwhile_is_not_memoized(db):
    other = "sha256:" + "5" * 64
    remember_run_config(db, other, RunConfig(IMAGE_ID, {}, CHAIN))
    assert cached_run_config(db, other) is None
