"""Resolving an image for a container: from the blobs the first time, from the catalog's memo after."""

from pathlib import Path

import pytest

from dockpy.errors import NotFoundError
from dockpy.image.refs import Refs
from dockpy.layers import snapshots
from dockpy.layers.snapshots import Snapshotter
from dockpy.metadata import open_database
from dockpy.runtime.image_cache import cached_run_config
from dockpy.runtime.images import resolve_image
from tests.conftest import requires_root

pytestmark = requires_root


def test_a_second_resolution_gives_the_same_image_from_the_memo(storage_root, busybox_image):
    first = resolve_image(storage_root, busybox_image)
    with Refs(storage_root) as refs:
        assert cached_run_config(refs.db, refs.find(busybox_image)) is not None
    assert resolve_image(storage_root, busybox_image) == first
    assert all(any(Path(path).iterdir()) for path in first.layers)


def test_an_image_whose_snapshots_were_removed_is_unpacked_again(storage_root, busybox_image):
    first = resolve_image(storage_root, busybox_image)
    with Snapshotter(storage_root) as snapshotter:
        for snapshot in reversed(snapshotter.walk()):
            snapshotter.remove(snapshot.name)
    again = resolve_image(storage_root, busybox_image)
    assert (again.id, again.config) == (first.id, first.config)
    assert len(again.layers) == len(first.layers) and again.layers != first.layers
    assert all(path.endswith("/fs") for path in again.layers)


def test_a_lookup_through_the_callers_connection_opens_none_and_leaves_it_open(storage_root, busybox_image,
                                                                            monkeypatch):
    first = resolve_image(storage_root, busybox_image)
    connection = open_database(storage_root)
    monkeypatch.setattr(snapshots, "open_database", _refuse_to_open)
    assert resolve_image(storage_root, busybox_image, connection) == first
    assert connection.execute("SELECT count(*) FROM snapshots").fetchone()[0] == len(first.layers)
    connection.close()


def _refuse_to_open(root):
    raise AssertionError(f"a second connection to {root.directory}")


def test_an_unknown_image_is_not_found(storage_root, busybox_image):
    with pytest.raises(NotFoundError, match="no such image: nothing-here"):
        resolve_image(storage_root, "nothing-here")


def test_run_of_an_unknown_image_fails_with_one_line_and_leaves_no_container(dockpy, storage_root, busybox_image):
    result = dockpy("run", "--rm", "nothing-here", "true")
    assert result.returncode == 125
    assert result.stderr.splitlines()[0] == "dockpy: error: no such image: nothing-here"
    assert result.stderr.splitlines()[1].startswith("hint: dockpy does not pull on its own: 'dockpy pull nothing-here'")
    assert dockpy("ps", "-a", "-q", check=True).stdout == ""
    assert list(storage_root.containers.iterdir()) == []


@pytest.mark.skipif(not Path("/bin/busybox").exists(), reason="the busybox template needs /bin/busybox")
def test_a_template_image_is_made_the_first_time_it_is_run(storage_root):
    """As FROM busybox in a build: ``dockpy run busybox`` works in a fresh root, with no registry."""
    image = resolve_image(storage_root, "busybox")
    with Refs(storage_root) as refs:
        assert refs.log("busybox:latest")[0].operation == "import"
    assert any(Path(path, "bin/busybox").exists() for path in image.layers)
