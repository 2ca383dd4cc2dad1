"""tree_size: the bytes of the files below a directory."""

import os

from dockpy.layers.tree_size import tree_size


def test_tree_size_counts_files_in_subdirectories(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_bytes(b"123")
    (tmp_path / "g").write_bytes(b"45")
    assert tree_size(str(tmp_path)) == 5


def test_a_symlink_counts_as_itself_not_its_target(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 1000)
    os.symlink("big", tmp_path / "link")
    assert tree_size(str(tmp_path)) == 1000 + len("big")
