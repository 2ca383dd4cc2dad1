"""The storage root's layout: str paths for the hot commands, Paths for the rest, one name per entry."""

from pathlib import Path

from dockpy.root import CONTAINERS, DATABASE, StorageRoot


def test_a_path_given_is_kept_as_a_str_and_equals_the_same_str(tmp_path):
    root = StorageRoot(tmp_path)
    assert root.directory == str(tmp_path) and root == StorageRoot(str(tmp_path))


def test_join_and_the_properties_name_the_same_places(tmp_path):
    root = StorageRoot(tmp_path)
    assert root.join(CONTAINERS, "c0ffee") == str(root.containers / "c0ffee")
    assert root.join(DATABASE) == str(root.database)
    assert isinstance(root.containers, Path) and isinstance(root.join(CONTAINERS), str)


def test_a_relative_dockpy_root_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOCKPY_ROOT", "store")
    assert StorageRoot.default().directory == str(tmp_path / "store")


def test_create_makes_the_layout_and_can_run_again(tmp_path):
    root = StorageRoot(tmp_path / "new").create().create()
    assert all(path.is_dir() for path in (root.blobs / "sha256", root.snapshots, root.containers, root.tmp))
