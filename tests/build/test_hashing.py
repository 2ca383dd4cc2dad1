import os
import threading

from dockpy.build import hashing
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


def counting_hash_file(monkeypatch) -> list[str]:
    """Make ``hash_file`` record the name of the thread each call runs on."""
    calls = []
    real = hashing.hash_file

    def counted(path: str) -> str:
        calls.append(threading.current_thread().name)
        return real(path)

    monkeypatch.setattr(hashing, "hash_file", counted)
    return calls


def test_a_prefetched_file_is_hashed_once_on_the_prefetch_thread(storage_root, tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_text("one")
    calls = counting_hash_file(monkeypatch)
    cache = FileDigestCache(open_database(storage_root), str(tmp_path))
    cache.prefetch([(str(path), os.lstat(path)), (str(tmp_path), os.lstat(tmp_path))])
    assert cache.digest(str(path), os.lstat(path)) == hash_file(str(path))
    assert calls == ["dockpy-prefetch"]


def test_a_file_the_cache_knows_is_not_prefetched(storage_root, tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_text("one")
    first = FileDigestCache(open_database(storage_root), str(tmp_path))
    first.digest(str(path), os.lstat(path))
    first.save()
    calls = counting_hash_file(monkeypatch)
    FileDigestCache(open_database(storage_root), str(tmp_path)).prefetch([(str(path), os.lstat(path))])
    assert calls == []


def test_a_file_changed_after_it_was_prefetched_is_hashed_again(storage_root, tmp_path):
    path = tmp_path / "f"
    path.write_text("one")
    cache = FileDigestCache(open_database(storage_root), str(tmp_path))
    cache.prefetch([(str(path), os.lstat(path))])
    path.write_text("two, longer")
    assert cache.digest(str(path), os.lstat(path)) == hash_file(str(path))


def test_a_failure_on_the_prefetch_thread_leaves_the_step_to_hash_the_file(storage_root, tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_text("one")
    real = hashing.hash_file

    def failing_on_the_prefetch_thread(name: str) -> str:
        if threading.current_thread().name == "dockpy-prefetch":
            raise RuntimeError("unexpected")
        return real(name)

    monkeypatch.setattr(hashing, "hash_file", failing_on_the_prefetch_thread)
    cache = FileDigestCache(open_database(storage_root), str(tmp_path))
    cache.prefetch([(str(path), os.lstat(path))])
    digests = []
    waiter = threading.Thread(target=lambda: digests.append(cache.digest(str(path), os.lstat(path))), daemon=True)
    waiter.start()
    waiter.join(timeout=60)
    assert digests == [real(str(path))]


def test_the_files_to_prefetch_are_listed_on_the_prefetch_thread(storage_root, tmp_path):
    path = tmp_path / "f"
    path.write_text("one")
    listed_on = []

    def files():
        listed_on.append(threading.current_thread().name)
        yield str(path), os.lstat(path)

    cache = FileDigestCache(open_database(storage_root), str(tmp_path))
    cache.prefetch(files())
    assert cache.digest(str(path), os.lstat(path)) == hash_file(str(path))
    assert listed_on == ["dockpy-prefetch"]
