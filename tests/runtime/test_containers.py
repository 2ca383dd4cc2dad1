"""Removing a container's directory: cheaply when it holds little, completely always, never through symlinks."""

import os
import shutil

import pytest

from dockpy.runtime.containers import ContainerRecord, ContainerStore, remove_container_directory


@pytest.fixture
def container_directory(tmp_path):
    """What a container that changed nothing leaves: dockpy's files and empty overlay dirs."""
    directory = tmp_path / "c0ffee"
    for name in ("upper", "work/work", "merged"):
        (directory / name).mkdir(parents=True)
    for name in ("hosts", "hostname", "resolv.conf", "config.json"):
        (directory / name).write_text(name)
    return directory


def test_a_directory_of_files_and_empty_dirs_goes_without_rmtree(container_directory, monkeypatch):
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: pytest.fail("rmtree was not needed"))
    remove_container_directory(container_directory)
    assert not container_directory.exists()


def test_a_volatile_overlays_marker_goes_without_rmtree(container_directory, monkeypatch):
    (container_directory / "work/work/incompat/volatile").mkdir(parents=True)
    (container_directory / "work/work/incompat/volatile/dirty").write_bytes(b"")
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: pytest.fail("rmtree was not needed"))
    remove_container_directory(container_directory)
    assert not container_directory.exists()


def test_a_deeper_tree_of_changes_goes_too(container_directory):
    (container_directory / "upper/usr/local/lib/app").mkdir(parents=True)
    (container_directory / "upper/usr/local/lib/app/data").write_bytes(b"x" * 100)
    remove_container_directory(container_directory)
    assert not container_directory.exists()


def test_symlinks_are_removed_not_followed(container_directory, tmp_path):
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep/file").write_text("mine")
    (container_directory / "upper/link").symlink_to(outside)
    (container_directory / "upper/deep").mkdir()
    (container_directory / "upper/deep/link").symlink_to(outside / "keep")
    remove_container_directory(container_directory)
    assert not container_directory.exists()
    assert (outside / "keep/file").read_text() == "mine"


def test_a_directory_already_gone_is_no_error(tmp_path):
    remove_container_directory(tmp_path / "never-made")


def test_a_containers_config_is_read_from_disk_at_most_once(storage_root):
    written, other = ContainerStore(storage_root), ContainerStore(storage_root)
    record = ContainerRecord(id="c0ffee", name="n", image="busybox", image_id="", command=("true",), created=0.0)
    os.mkdir(written.paths(record.id).directory)
    written.write_config(record.id, {"isolation": "namespace"})
    assert other.config_of(record) == {"isolation": "namespace"}  # read from the file
    os.remove(written.paths(record.id).config)
    assert written.config_of(record) == other.config_of(record) == {"isolation": "namespace"}
