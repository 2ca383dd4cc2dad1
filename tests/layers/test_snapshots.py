"""Snapshotter conformance: named behaviours after containerd's snapshots/testsuite.

Each test works on real overlay mounts of a fresh storage root; the
``mounts`` fixture unmounts whatever a test leaves mounted.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dockpy.errors import ConflictError, InvalidInputError, NotFoundError
from dockpy.layers.snapshots import Kind, Snapshotter
from tests.conftest import REPO, requires_root
from tests.layers.conftest import DIR, OPAQUE_DIR, read_tree, write_tree

pytestmark = requires_root


@pytest.fixture
def snapshotter(storage_root):
    with Snapshotter(storage_root) as snapshots:
        yield snapshots


def commit_layer(snapshotter, mounts, work: Path, name: str, parent: str | None, modify) -> str:
    """prepare → mount → modify(merged) → unmount → commit, as a build step does."""
    key = f"{name}-active"
    merged = mounts.mount(snapshotter.prepare(key, parent), work / key)
    modify(merged)
    mounts.unmount(merged)
    snapshotter.commit(name, key)
    return name


def check_layers(snapshotter, mounts, work: Path, *modifications) -> dict[str, str]:
    """Commit each modification as a layer on the previous one; return what a view of the top shows."""
    parent = None
    for index, modify in enumerate(modifications):
        parent = commit_layer(snapshotter, mounts, work, f"layer{index}", parent, modify)
    view = mounts.mount(snapshotter.view("check", parent), work / "check")
    return read_tree(view)


def writes(entries: dict[str, str]):
    return lambda merged: write_tree(merged, entries)


def test_basic_prepare_commit_view(snapshotter, mounts, tmp_path):
    merged = mounts.mount(snapshotter.prepare("preparing"), tmp_path / "preparing")
    write_tree(merged, {"foo": "foo\n", "a/b/c/d": "d"})
    mounts.unmount(merged)
    snapshotter.commit("committed", "preparing")
    with pytest.raises(NotFoundError):
        snapshotter.stat("preparing")

    merged = mounts.mount(snapshotter.prepare("next", "committed"), tmp_path / "next")
    assert read_tree(merged)["foo"] == "foo\n"
    (merged / "foo").write_text("bar\n")
    shutil.rmtree(merged / "a/b")
    mounts.unmount(merged)
    snapshotter.commit("committed-next", "next")

    view = mounts.mount(snapshotter.view("view", "committed-next"), tmp_path / "view")
    assert read_tree(view) == {"foo": "bar\n", "a": DIR}


def test_stat_reports_kind_parent_and_directory(snapshotter):
    snapshotter.prepare("base-key")
    snapshotter.commit("base", "base-key")
    snapshotter.prepare("child", "base")
    base, child = snapshotter.stat("base"), snapshotter.stat("child")
    assert (base.kind, base.parent) == (Kind.COMMITTED, None)
    assert (child.kind, child.parent) == (Kind.ACTIVE, "base")
    assert child.directory == snapshotter.directory("child") and child.directory.name == "fs"
    assert child.created >= base.created


def test_transitivity_parent_of_parent(snapshotter):
    snapshotter.prepare("a-key")
    snapshotter.commit("A", "a-key")
    snapshotter.prepare("b-key", "A")
    snapshotter.commit("B", "b-key")
    assert snapshotter.stat(snapshotter.stat("B").parent).parent is None


def test_prepare_or_view_with_a_key_in_use_fails(snapshotter):
    snapshotter.prepare("a-key")
    snapshotter.commit("A", "a-key")
    snapshotter.prepare("layer", "A")
    with pytest.raises(ConflictError):
        snapshotter.view("layer", "A")
    with pytest.raises(ConflictError):
        snapshotter.prepare("layer", "A")
    with pytest.raises(ConflictError):
        snapshotter.prepare("A")


def test_only_a_committed_snapshot_can_be_a_parent(snapshotter):
    snapshotter.prepare("active")
    with pytest.raises(InvalidInputError):
        snapshotter.prepare("child", "active")
    with pytest.raises(NotFoundError):
        snapshotter.prepare("orphan", "no-such-parent")


def test_a_view_cannot_be_committed(snapshotter):
    snapshotter.view("view")
    with pytest.raises(InvalidInputError):
        snapshotter.commit("name", "view")


def test_commit_to_an_existing_name_is_a_conflict_and_keeps_the_key(snapshotter):
    snapshotter.prepare("one")
    snapshotter.commit("chain", "one")
    snapshotter.prepare("two")
    with pytest.raises(ConflictError):
        snapshotter.commit("chain", "two")
    assert snapshotter.stat("two").kind == Kind.ACTIVE


def test_mounts_returns_the_mounts_of_prepare_again(snapshotter):
    snapshotter.prepare("base-key")
    snapshotter.commit("base", "base-key")
    first = snapshotter.prepare("child", "base")
    assert snapshotter.mounts("child") == first
    with pytest.raises(InvalidInputError):
        snapshotter.mounts("base")


def test_mount_shapes_follow_the_parent_count(snapshotter):
    assert snapshotter.prepare("lone")[0].type == "bind"
    snapshotter.commit("one", "lone")
    overlay = snapshotter.prepare("on-one", "one")[0]
    assert (overlay.type, len(overlay.lowerdirs), overlay.upperdir) == ("overlay", 1, str(snapshotter.directory("on-one")))
    assert snapshotter.view("view-one", "one")[0].options == ("ro",)
    snapshotter.commit("two", "on-one")
    read_only = snapshotter.view("view-two", "two")[0]
    assert (read_only.type, read_only.upperdir, len(read_only.lowerdirs)) == ("overlay", None, 2)


def test_view_is_read_only(snapshotter, mounts, tmp_path):
    snapshotter.prepare("base-key")
    write_tree(snapshotter.directory("base-key"), {"f": "f"})
    snapshotter.commit("base", "base-key")
    view = mounts.mount(snapshotter.view("view", "base"), tmp_path / "view")
    with pytest.raises(OSError):
        (view / "g").write_text("g")


def test_remove_refuses_while_children_exist(snapshotter):
    snapshotter.prepare("base-key")
    snapshotter.commit("base", "base-key")
    snapshotter.prepare("child", "base")
    with pytest.raises(ConflictError, match="remove"):
        snapshotter.remove("base")
    snapshotter.remove("child")
    directory = snapshotter.directory("base")
    snapshotter.remove("base")
    assert not directory.parent.exists()
    assert snapshotter.walk() == []


def test_remove_intermediate_snapshot_fails(snapshotter):
    snapshotter.prepare("base-key")
    snapshotter.commit("base", "base-key")
    snapshotter.prepare("inter-key", "base")
    snapshotter.commit("inter", "inter-key")
    snapshotter.prepare("top", "inter")
    with pytest.raises(ConflictError):
        snapshotter.remove("inter")


def test_walk_lists_every_snapshot_oldest_first(snapshotter):
    snapshotter.prepare("a-key")
    snapshotter.commit("a", "a-key")
    snapshotter.prepare("b", "a")
    snapshotter.view("c", "a")
    assert [(info.name, info.kind, info.parent) for info in snapshotter.walk()] == [
        ("a", Kind.COMMITTED, None),
        ("b", Kind.ACTIVE, "a"),
        ("c", Kind.VIEW, "a"),
    ]


def test_usage_counts_only_the_snapshot_itself(snapshotter):
    snapshotter.prepare("base-key")
    write_tree(snapshotter.directory("base-key"), {"big": "x" * 100_000})
    snapshotter.commit("base", "base-key")
    snapshotter.prepare("child", "base")
    write_tree(snapshotter.directory("child"), {"small": "y"})
    base, child = snapshotter.usage("base"), snapshotter.usage("child")
    assert base.size >= 100_000 and base.inodes == 2
    assert child.size < 100_000 and child.inodes == 2


def test_layer_file_update(snapshotter, mounts, tmp_path):
    tree = check_layers(
        snapshotter,
        mounts,
        tmp_path,
        writes({"foo": "first", "bar": "bar"}),
        writes({"foo": "second"}),
        writes({"foo": "third"}),
    )
    assert tree == {"foo": "third", "bar": "bar"}


def test_deleted_file_in_child_snapshot(snapshotter, mounts, tmp_path):
    tree = check_layers(
        snapshotter,
        mounts,
        tmp_path,
        writes({"foo": "foo\n", "foobar": "foobar\n"}),
        lambda merged: (merged / "foobar").unlink(),
        lambda merged: None,
    )
    assert tree == {"foo": "foo\n"}


def test_remove_directory_in_lower_layer(snapshotter, mounts, tmp_path):
    tree = check_layers(
        snapshotter,
        mounts,
        tmp_path,
        writes({"lib/a": "a", "lib/sub/b": "b", "keep": "k"}),
        lambda merged: shutil.rmtree(merged / "lib"),
    )
    assert tree == {"keep": "k"}


def test_recreate_after_delete(snapshotter, mounts, tmp_path):
    tree = check_layers(
        snapshotter,
        mounts,
        tmp_path,
        writes({"etc/conf": "v1"}),
        lambda merged: (merged / "etc/conf").unlink(),
        writes({"etc/conf": "v3"}),
    )
    assert tree == {"etc": DIR, "etc/conf": "v3"}


def test_opaque_directory(snapshotter, mounts, tmp_path):
    def remake(merged):
        shutil.rmtree(merged / "dir")
        write_tree(merged, {"dir/new": "n"})

    tree = check_layers(snapshotter, mounts, tmp_path, writes({"dir/old": "o", "dir/sub/x": "x"}), remake)
    assert tree == {"dir": DIR, "dir/new": "n"}
    upper = snapshotter.directory("layer1")
    assert read_tree(upper)["dir"] == OPAQUE_DIR


def test_rename(snapshotter, mounts, tmp_path):
    def move_dir(merged):  # with redirect_dir=off the kernel refuses rename(2); mv copies instead
        subprocess.run(["mv", str(merged / "dir"), str(merged / "renamed-dir")], check=True)

    def rename_file(merged):
        os.rename(merged / "file", merged / "renamed-file")

    tree = check_layers(
        snapshotter, mounts, tmp_path, writes({"file": "f", "dir/inner": "i"}), rename_file, move_dir
    )
    assert tree == {"renamed-file": "f", "renamed-dir": DIR, "renamed-dir/inner": "i"}


def test_a_lower_directory_cannot_be_renamed_in_place_so_no_redirect_is_written(snapshotter, mounts, tmp_path):
    snapshotter.prepare("base-key")
    write_tree(snapshotter.directory("base-key"), {"dir/inner": "i"})
    snapshotter.commit("base", "base-key")
    merged = mounts.mount(snapshotter.prepare("top", "base"), tmp_path / "top")
    with pytest.raises(OSError) as raised:
        os.rename(merged / "dir", merged / "renamed")
    assert raised.value.errno == 18  # EXDEV: tools fall back to copying, which a layer tar can express


def test_file_replaced_by_directory_and_back(snapshotter, mounts, tmp_path):
    def file_to_dir(merged):
        (merged / "p").unlink()
        write_tree(merged, {"p/inner": "i"})

    def dir_to_file(merged):
        shutil.rmtree(merged / "p")
        (merged / "p").write_text("file again")

    final = check_layers(snapshotter, mounts, tmp_path, writes({"p": "file"}), file_to_dir, dir_to_file)
    assert final == {"p": "file again"}
    middle = mounts.mount(snapshotter.view("middle", "layer1"), tmp_path / "middle")
    assert read_tree(middle) == {"p": DIR, "p/inner": "i"}


@pytest.mark.parametrize("count", [128, 200])
def test_many_layers_mount(snapshotter, mounts, tmp_path, count):
    parent = None
    for index in range(count):
        key = f"extract-{index}"
        snapshotter.prepare(key, parent)
        write_tree(snapshotter.directory(key), {f"f{index}": str(index), "top": str(index)})
        snapshotter.commit(f"layer-{index}", key)
        parent = f"layer-{index}"
    merged = mounts.mount(snapshotter.prepare("container", parent), tmp_path / "container")
    tree = read_tree(merged)
    assert len(tree) == count + 1 and tree["f0"] == "0" and tree["top"] == str(count - 1)
    (merged / "written").write_text("w")
    assert (snapshotter.directory("container") / "written").read_text() == "w"


def test_prepare_refuses_more_lower_layers_than_overlay_stacks(snapshotter, monkeypatch):
    monkeypatch.setattr("dockpy.layers.snapshots.OVERLAY_MAX_LOWER_LAYERS", 2)
    parent = None
    for index in range(3):
        snapshotter.prepare(f"k{index}", parent)
        snapshotter.commit(f"c{index}", f"k{index}")
        parent = f"c{index}"
    with pytest.raises(InvalidInputError, match="at most 2 lower layers"):
        snapshotter.prepare("too-deep", parent)
    assert [info.name for info in snapshotter.walk()] == ["c0", "c1", "c2"]


CRASHING_CHILD = """
import os, shutil, signal, sys
from pathlib import Path
from dockpy.root import StorageRoot
from dockpy.layers import snapshots

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

snapshotter = snapshots.Snapshotter(StorageRoot(Path(sys.argv[1])))
if sys.argv[2] == "prepare":
    make = snapshots.Snapshotter._make_directories
    snapshots.Snapshotter._make_directories = lambda self, *a: (make(self, *a), die())
    snapshotter.prepare("doomed")
else:
    shutil.rmtree = die
    snapshotter.remove(sys.argv[3])
"""


def run_crashing(storage_root, *args):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASHING_CHILD), str(storage_root.path), *args],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()


def test_crash_between_dir_creation_and_commit_leaves_nothing_visible(snapshotter, storage_root):
    run_crashing(storage_root, "prepare")
    assert snapshotter.walk() == []
    orphans = list(storage_root.snapshots.iterdir())
    assert len(orphans) == 1
    assert snapshotter.cleanup() == orphans
    assert list(storage_root.snapshots.iterdir()) == []
    snapshotter.prepare("doomed")  # the key and the crashed id are free again
    assert snapshotter.stat("doomed").directory.is_dir()


def test_crash_after_remove_leaves_an_orphan_that_cleanup_removes(snapshotter, storage_root):
    snapshotter.prepare("victim")
    directory = snapshotter.directory("victim").parent
    run_crashing(storage_root, "remove", "victim")
    assert snapshotter.walk() == [] and directory.exists()
    assert snapshotter.cleanup() == [directory]
    assert not directory.exists()


def test_cleanup_keeps_every_owned_directory(snapshotter):
    snapshotter.prepare("a")
    snapshotter.view("b")
    assert snapshotter.cleanup() == []
    assert all(info.directory.is_dir() for info in snapshotter.walk())


def prepare_many(root_path: str, worker: int) -> None:
    from dockpy.root import StorageRoot

    with Snapshotter(StorageRoot(Path(root_path))) as snapshots:
        for index in range(10):
            key = f"worker{worker}-{index}"
            snapshots.prepare(key, "base")
            if index % 2:
                snapshots.commit(f"{key}-committed", key)


def test_concurrent_prepare_from_four_processes(snapshotter, storage_root):
    snapshotter.prepare("base-key")
    snapshotter.commit("base", "base-key")
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=prepare_many, args=(str(storage_root.path), n)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    infos = snapshotter.walk()
    assert len(infos) == 41
    assert len({info.directory for info in infos}) == 41
    assert sum(info.kind == Kind.COMMITTED for info in infos) == 21
    assert all(info.directory.is_dir() for info in infos)
    assert snapshotter.cleanup() == []
