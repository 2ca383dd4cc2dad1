import os

from dockpy.build.hashing import FileDigestCache, hash_file
from dockpy.metadata import open_database


def test_a_file_is_hashed_once_until_its_identity_changes(storage_root, tmp_path):
    path = tmp_path / "f"
    path.write_text("one")
    first = FileDigestCache(open_database(storage_root), str(tmp_path))
    digest = first.digest(str(path), os.lstat(path))
    first.save()
    again = FileDigestCache(open_database(storage_root), str(tmp_path))
    assert again.digest(str(path), os.lstat(path)) == digest
    assert again.hashed_paths == []
    path.write_text("two")
    assert again.digest(str(path), os.lstat(path)) == hash_file(str(path)) != digest
    assert again.hashed_paths == [str(path)]


def test_the_cache_of_one_directory_does_not_load_another(storage_root, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab/f").write_text("x")
    cache = FileDigestCache(open_database(storage_root), str(tmp_path / "ab"))
    cache.digest(str(tmp_path / "ab/f"), os.lstat(tmp_path / "ab/f"))
    cache.save()
    assert FileDigestCache(open_database(storage_root), str(tmp_path / "a"))._known == {}
