"""Finding the manifest a reference names, through any connection to the catalog (``run`` brings its own)."""

import pytest

from dockpy.errors import NotFoundError
from dockpy.image.catalog import ensure_catalog
from dockpy.image.lookup import find_manifest
from dockpy.metadata import open_database
from tests.image.conftest import put_test_image


@pytest.fixture
def app_history(image_store):
    """``app:latest`` at revision 1, then 2; the two images."""
    first = put_test_image(image_store, {"etc/": None, "etc/version": b"1"})
    second = put_test_image(image_store, {"etc/": None, "etc/version": b"2"})
    image_store.add_revision("app", first, operation="import")
    image_store.add_revision("app", second, operation="import")
    return first, second


@pytest.fixture
def connection(storage_root):
    connection = ensure_catalog(open_database(storage_root))
    yield connection
    connection.close()


def test_a_tag_and_its_revisions_resolve_through_a_connection_refs_never_saw(connection, app_history):
    first, second = app_history
    assert find_manifest(connection, "app") == second.manifest_digest
    assert find_manifest(connection, "app:latest@1") == first.manifest_digest
    assert find_manifest(connection, second.id.hex[:12]) == second.manifest_digest


def test_a_missing_revision_names_the_revisions_there_are(connection, app_history):
    with pytest.raises(NotFoundError, match=r"app:latest has no revision 3 \(revisions 1 to 2\)"):
        find_manifest(connection, "app@3")


def test_an_unknown_name_is_not_found(connection, app_history):
    with pytest.raises(NotFoundError, match="no such image: other"):
        find_manifest(connection, "other")
