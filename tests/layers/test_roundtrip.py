"""Write → apply round trips: a tree of every entry kind survives bit by bit, deterministically."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile

import pytest

from dockpy.layers.compression import Compression, commit_layer, open_layer
from dockpy.layers.content import ContentStore
from dockpy.layers.tarapply import apply_layer
from dockpy.layers.tarwriter import write_layer_tar
from dockpy.root import StorageRoot
from tests.conftest import requires_root
from tests.layers.layer_trees import RICH_MTIME, build_rich_tree, describe_tree

pytestmark = requires_root


@pytest.fixture(scope="module")
def rich_tree(tmp_path_factory):
    return build_rich_tree(tmp_path_factory.mktemp("rich") / "tree")


def layer_tar(source, **options) -> bytes:
    out = io.BytesIO()
    write_layer_tar(source, out, **options)
    return out.getvalue()


def test_every_entry_kind_survives_write_then_apply_bit_exactly(rich_tree, tmp_path):
    target = tmp_path / "applied"
    target.mkdir()
    apply_layer(io.BytesIO(layer_tar(rich_tree)), target)
    assert describe_tree(target) == describe_tree(rich_tree)


def test_writing_the_applied_tree_again_gives_the_same_bytes(rich_tree, tmp_path):
    first = layer_tar(rich_tree)
    target = tmp_path / "applied"
    target.mkdir()
    apply_layer(io.BytesIO(first), target)
    assert layer_tar(target) == first


def test_the_same_tree_gives_the_same_digest_twice_and_in_another_root(rich_tree, tmp_path):
    copy = tmp_path / "elsewhere" / "copy"
    copy.parent.mkdir()
    subprocess.run(["cp", "-a", "--preserve=all", str(rich_tree), str(copy)], check=True)
    stores = [ContentStore(StorageRoot(tmp_path / name)) for name in ("root-a", "root-b")]
    first = commit_layer(stores[0], lambda out: write_layer_tar(rich_tree, out))
    second = commit_layer(stores[0], lambda out: write_layer_tar(rich_tree, out))
    elsewhere = commit_layer(stores[1], lambda out: write_layer_tar(copy, out))
    assert first == second == elsewhere


@pytest.mark.parametrize("compression", list(Compression))
def test_a_committed_layer_applies_back_to_the_same_tree(rich_tree, tmp_path, compression):
    store = ContentStore(StorageRoot(tmp_path / "root"))
    blob = commit_layer(store, lambda out: write_layer_tar(rich_tree, out), compression)
    target = tmp_path / "applied"
    target.mkdir()
    with open_layer(store, blob.digest) as layer:
        apply_layer(layer, target)
    assert describe_tree(target) == describe_tree(rich_tree)


def test_source_date_epoch_clamps_later_mtimes_and_keeps_earlier_ones(rich_tree):
    epoch = RICH_MTIME + 5
    with tarfile.open(fileobj=io.BytesIO(layer_tar(rich_tree, source_date_epoch=epoch))) as archive:
        mtimes = {member.mtime for member in archive}
    assert max(mtimes) == epoch
    assert RICH_MTIME in mtimes


def test_source_date_epoch_makes_trees_differing_only_in_new_mtimes_identical(rich_tree, tmp_path):
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", "--preserve=all", str(rich_tree), str(copy)], check=True)
    os.utime(copy / "etc/hostname", (RICH_MTIME + 10_000, RICH_MTIME + 10_000))
    epoch = RICH_MTIME + 1
    assert layer_tar(copy) != layer_tar(rich_tree)
    assert layer_tar(copy, source_date_epoch=epoch) == layer_tar(rich_tree, source_date_epoch=epoch)


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is not installed")
def test_gnu_tar_extracts_dockpys_tar_to_the_same_tree(rich_tree, tmp_path):
    """The whiteout and the opaque dir are the only things GNU tar sees in OCI form."""
    archive = tmp_path / "layer.tar"
    archive.write_bytes(layer_tar(rich_tree))
    target = tmp_path / "gnu"
    target.mkdir()
    subprocess.run(
        ["tar", "--xattrs", "--xattrs-include=*", "--same-owner", "-xpf", str(archive), "-C", str(target)],
        check=True,
    )
    expected = describe_tree(rich_tree)
    actual = describe_tree(target)
    assert actual.pop(b".wh.gone")[0:2] == (0o100000, 0o600)
    assert actual.pop(b"opaque/.wh..wh..opq")[0] == 0o100000
    del expected[b"gone"]
    expected[b"opaque"] = expected[b"opaque"][:7] + ({},) + expected[b"opaque"][8:]
    assert actual == expected


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is not installed")
@pytest.mark.parametrize("archive_format", ["gnu", "posix", "ustar"])
def test_dockpy_applies_gnu_tars_archives_to_the_same_tree(tmp_path, archive_format):
    source = tmp_path / "source"
    build_rich_tree(source)
    _remove_overlay_forms(source)
    if archive_format == "ustar":  # ustar holds neither long names nor big ids
        shutil.rmtree(source / "long")
        os.unlink(source / "long-target")
        os.chown(source / "big.bin", 0, 0)
    archive = tmp_path / "gnu.tar"
    subprocess.run(
        ["tar", f"--format={archive_format}", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-cf", str(archive), "-C", str(source), "."],
        check=True,
    )
    target = tmp_path / "applied"
    target.mkdir()
    with open(archive, "rb") as stream:
        apply_layer(stream, target)
    assert describe_tree(target) == describe_tree(source)


def _remove_overlay_forms(root):
    os.unlink(root / "gone")
    os.removexattr(root / "opaque", "trusted.overlay.opaque")
    os.utime(root / "opaque", (RICH_MTIME, RICH_MTIME))
    os.utime(root, (RICH_MTIME, RICH_MTIME))
