"""Cache mounts: one persistent directory per id, held as ``sharing=shared|locked|private`` says."""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
from pathlib import Path

import pytest

from dockpy.build.cachemounts import CACHE_MOUNTS_DIRECTORY, LOCK_SUFFIX, cache_mount_directory
from dockpy.build.runmounts import RunMount


def cache(sharing: str = "shared", **fields) -> RunMount:
    return RunMount("cache", "/cache", read_only=False, id="/cache", sharing=sharing, **fields)


def is_locked_exclusively_elsewhere(directory: str) -> bool:
    """Whether another open file holds a lock that a shared lock would wait for."""
    fd = os.open(directory + LOCK_SUFFIX, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def test_a_cache_directory_persists_under_the_storage_root(tmp_path):
    with cache_mount_directory(str(tmp_path), cache()) as directory:
        Path(directory, "kept").write_text("1")
    with cache_mount_directory(str(tmp_path), cache()) as again:
        assert again == directory and Path(again, "kept").read_text() == "1"
    assert Path(directory).parent == tmp_path / CACHE_MOUNTS_DIRECTORY


def test_ids_name_different_directories(tmp_path):
    with cache_mount_directory(str(tmp_path), cache()) as first:
        with cache_mount_directory(str(tmp_path), RunMount("cache", "/cache", id="other")) as second:
            assert first != second


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_a_new_directory_gets_the_mounts_mode_and_owner(tmp_path):
    with cache_mount_directory(str(tmp_path), cache(mode=0o700, uid=1000, gid=1001)) as directory:
        st = os.stat(directory)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (1000, 1001, 0o700)


def test_shared_users_hold_the_same_directory_at_once(tmp_path):
    with cache_mount_directory(str(tmp_path), cache("shared")) as first:
        with cache_mount_directory(str(tmp_path), cache("shared")) as second:
            assert first == second
            assert not is_locked_exclusively_elsewhere(first)


def test_a_locked_user_holds_the_directory_alone(tmp_path):
    with cache_mount_directory(str(tmp_path), cache("locked")) as directory:
        assert is_locked_exclusively_elsewhere(directory)
    assert not is_locked_exclusively_elsewhere(directory)


def test_a_locked_user_waits_until_the_holder_is_done(tmp_path):
    order = []
    holding = threading.Event()

    def second_user():
        holding.wait()
        with cache_mount_directory(str(tmp_path), cache("locked")):
            order.append("second")

    thread = threading.Thread(target=second_user)
    thread.start()
    with cache_mount_directory(str(tmp_path), cache("shared")):
        holding.set()
        thread.join(timeout=0.5)  # it must still be waiting: a shared user holds the directory
        order.append("first done")
    thread.join()
    assert order == ["first done", "second"]


def test_private_users_at_once_get_different_directories_that_persist(tmp_path):
    with cache_mount_directory(str(tmp_path), cache("private")) as first:
        Path(first, "one").write_text("1")
        with cache_mount_directory(str(tmp_path), cache("private")) as second:
            assert second != first and not os.listdir(second)
            Path(second, "two").write_text("2")
    with cache_mount_directory(str(tmp_path), cache("private")) as again:
        assert again == first and os.listdir(again) == ["one"]


def test_a_private_user_does_not_wait_for_a_locked_one(tmp_path):
    with cache_mount_directory(str(tmp_path), cache("locked")) as locked:
        with cache_mount_directory(str(tmp_path), cache("private")) as private:
            assert private != locked


def test_a_user_that_waited_while_prune_removed_the_cache_holds_the_new_lock_file(tmp_path):
    with cache_mount_directory(str(tmp_path), cache("locked")) as directory:
        pass  # makes the instance and its lock file
    prune_fd = os.open(directory + LOCK_SUFFIX, os.O_RDWR)
    fcntl.flock(prune_fd, fcntl.LOCK_EX)  # as builder prune holds it while it removes the instance
    held = []

    def user():
        with cache_mount_directory(str(tmp_path), cache("locked")) as again:
            held.append(is_locked_exclusively_elsewhere(again))

    thread = threading.Thread(target=user)
    thread.start()
    thread.join(timeout=0.5)  # it waits for the lock prune holds
    shutil.rmtree(directory)
    os.unlink(directory + LOCK_SUFFIX)
    os.close(prune_fd)
    thread.join()
    assert held == [True]
