"""The layer tar writer: order, overlay forms, links, metadata, determinism."""

from __future__ import annotations

import io
import os
import shutil
import socket
import stat
import subprocess
import tarfile

import pytest

from dockpy.errors import InvalidInputError, OverlayFeatureError
from dockpy.layers.tarwriter import source_date_epoch_from_environment, write_layer_tar
from tests.conftest import requires_root
from tests.layers.layer_trees import LONG_PATH, build_rich_tree


def layer_tar(source, **options) -> bytes:
    out = io.BytesIO()
    write_layer_tar(source, out, **options)
    return out.getvalue()


def members(source, **options) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(layer_tar(source, **options))) as archive:
        return archive.getmembers()


def by_name(source) -> dict[str, tarfile.TarInfo]:
    return {member.name: member for member in members(source)}


@pytest.fixture(scope="module")
def rich_tree(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root (devices, ownership, trusted xattrs)")
    return build_rich_tree(tmp_path_factory.mktemp("rich") / "tree")


def test_entries_come_depth_first_each_directory_sorted_by_name_bytes(tmp_path):
    for name in ["b", "a/z", "a/b/c", "a-b", "A", "a.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    assert [member.name for member in members(tmp_path)] == ["A", "a", "a/b", "a/b/c", "a/z", "a-b", "a.txt", "b"]


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is not installed")
def test_the_order_is_gnu_tars_sort_by_name_order(rich_tree, tmp_path):
    listing = subprocess.run(
        ["tar", "--sort=name", "-cf", "-", "-C", str(rich_tree), "."], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(listing)) as archive:
        gnu_order = [name.removeprefix("./") for name in archive.getnames() if name != "."]
    ours = [member.name for member in members(rich_tree)]
    overlay_forms = {".wh.gone", "gone", "opaque/.wh..wh..opq"}
    assert [name for name in ours if name not in overlay_forms] == [name for name in gnu_order if name not in overlay_forms]


def test_the_same_tree_gives_the_same_bytes(tmp_path):
    (tmp_path / "f").write_text("x")
    assert layer_tar(tmp_path) == layer_tar(tmp_path)


def test_the_root_directory_itself_is_not_an_entry(tmp_path):
    (tmp_path / "f").write_text("x")
    assert [member.name for member in members(tmp_path)] == ["f"]


def test_the_source_directory_may_be_reached_through_a_symlink(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real/f").write_text("x")
    os.symlink("real", tmp_path / "link")
    assert layer_tar(tmp_path / "link") == layer_tar(tmp_path / "real")


def test_an_empty_tree_is_just_the_end_of_archive_marker(tmp_path):
    assert layer_tar(tmp_path) == bytes(1024)


@requires_root
def test_an_overlay_whiteout_becomes_an_empty_wh_file(tmp_path):
    os.mknod(tmp_path / "deleted", stat.S_IFCHR, os.makedev(0, 0))
    os.chown(tmp_path / "deleted", 7, 8)
    [whiteout] = members(tmp_path)
    assert (whiteout.name, whiteout.type, whiteout.size, whiteout.mode) == (".wh.deleted", tarfile.REGTYPE, 0, 0o600)
    assert (whiteout.uid, whiteout.gid) == (7, 8)


@requires_root
def test_a_file_with_the_whiteout_xattr_becomes_a_wh_file(tmp_path):
    (tmp_path / "deleted").write_bytes(b"")
    os.setxattr(tmp_path / "deleted", "trusted.overlay.whiteout", b"")
    [whiteout] = members(tmp_path)
    assert (whiteout.name, whiteout.size, whiteout.pax_headers) == (".wh.deleted", 0, {})


@requires_root
@pytest.mark.parametrize("xattr", ["trusted.overlay.opaque", "user.overlay.opaque"])
def test_an_opaque_directory_is_followed_by_its_opaque_marker(tmp_path, xattr):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir/0-file").write_text("x")
    os.setxattr(tmp_path / "dir", xattr, b"y")
    names = [member.name for member in members(tmp_path)]
    assert names == ["dir", "dir/.wh..wh..opq", "dir/0-file"]
    assert by_name(tmp_path)["dir"].pax_headers == {}


@requires_root
def test_an_opaque_value_other_than_y_is_not_opaque(tmp_path):
    (tmp_path / "dir").mkdir()
    os.setxattr(tmp_path / "dir", "trusted.overlay.opaque", b"x")  # "has xattr whiteouts", not opaque
    assert [member.name for member in members(tmp_path)] == ["dir"]


@requires_root
def test_overlayfs_private_xattrs_never_reach_the_tar(tmp_path):
    (tmp_path / "dir").mkdir()
    os.setxattr(tmp_path / "dir", "trusted.overlay.impure", b"y")
    os.setxattr(tmp_path / "dir", "trusted.overlay.origin", b"\x00\xfb")
    os.setxattr(tmp_path / "dir", "user.kept", b"1")
    assert by_name(tmp_path)["dir"].pax_headers == {"SCHILY.xattr.user.kept": "1"}


@requires_root
@pytest.mark.parametrize("xattr", ["trusted.overlay.redirect", "trusted.overlay.metacopy"])
def test_an_upper_dir_written_with_redirect_or_metacopy_is_refused(tmp_path, xattr):
    (tmp_path / "moved").mkdir()
    os.setxattr(tmp_path / "moved", xattr, b"/elsewhere")
    with pytest.raises(OverlayFeatureError, match=xattr):
        layer_tar(tmp_path)


def test_a_second_path_to_an_inode_becomes_a_hard_link_to_the_first(tmp_path):
    (tmp_path / "z").write_text("shared")
    os.link(tmp_path / "z", tmp_path / "a")
    os.link(tmp_path / "z", tmp_path / "m")
    entries = members(tmp_path)
    assert [(m.name, m.type, m.linkname, m.size) for m in entries] == [
        ("a", tarfile.REGTYPE, "", 6),
        ("m", tarfile.LNKTYPE, "a", 0),
        ("z", tarfile.LNKTYPE, "a", 0),
    ]


def test_sockets_are_skipped(tmp_path):
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "sock"))
        (tmp_path / "file").write_text("x")
        assert [member.name for member in members(tmp_path)] == ["file"]
    finally:
        server.close()


def test_owners_are_numeric_and_names_empty(rich_tree):
    hostname = by_name(rich_tree)["etc/hostname"]
    assert (hostname.uid, hostname.gid, hostname.uname, hostname.gname) == (1000, 1000, "", "")


def test_ids_beyond_the_octal_fields_go_into_pax_records(rich_tree):
    big = by_name(rich_tree)["big.bin"]
    assert (big.uid, big.gid) == (3_000_000, 3_000_001)
    assert big.pax_headers["uid"] == "3000000"


def test_modes_keep_setuid_setgid_and_sticky_bits(rich_tree):
    entries = by_name(rich_tree)
    assert entries["bin/suid"].mode == 0o4755
    assert entries["shared"].mode == 0o2775
    assert entries["tmp"].mode == 0o1777


def test_devices_fifos_and_symlinks_keep_their_kind_and_numbers(rich_tree):
    entries = by_name(rich_tree)
    assert (entries["dev/null"].type, entries["dev/null"].devmajor, entries["dev/null"].devminor) == (tarfile.CHRTYPE, 1, 3)
    assert (entries["dev/loop0"].type, entries["dev/loop0"].devmajor) == (tarfile.BLKTYPE, 7)
    assert entries["run/fifo"].type == tarfile.FIFOTYPE
    assert (entries["lib"].type, entries["lib"].linkname) == (tarfile.SYMTYPE, "usr/lib")
    assert entries["long-target"].linkname == "t" * 150


def test_xattrs_are_pax_schily_records_with_binary_values(rich_tree):
    entries = by_name(rich_tree)
    assert entries["bin/hard2"].pax_headers["SCHILY.xattr.user.comment"] == "hello"  # the first path of etc/hostname's inode
    assert "SCHILY.xattr.security.capability" in entries["bin/ping"].pax_headers


def test_long_and_non_ascii_names_go_into_pax_path_records(rich_tree):
    entries = by_name(rich_tree)
    assert entries[LONG_PATH].pax_headers["path"] == LONG_PATH
    assert "caf\u00e9.txt" in entries


def test_mtimes_are_whole_seconds_without_atime_or_ctime(rich_tree):
    for member in members(rich_tree):
        assert not {"atime", "ctime", "mtime"} & member.pax_headers.keys()


def test_source_date_epoch_clamps_every_later_mtime(tmp_path):
    (tmp_path / "new").write_text("x")
    os.utime(tmp_path / "new", (2_000_000_000, 2_000_000_000))
    (tmp_path / "old").write_text("x")
    os.utime(tmp_path / "old", (100, 100))
    mtimes = {member.name: member.mtime for member in members(tmp_path, source_date_epoch=1_000_000)}
    assert mtimes == {"new": 1_000_000, "old": 100}


def test_source_date_epoch_is_read_from_the_environment_when_asked():
    assert source_date_epoch_from_environment({"SOURCE_DATE_EPOCH": "1700000000"}) == 1_700_000_000
    assert source_date_epoch_from_environment({"SOURCE_DATE_EPOCH": ""}) is None
    assert source_date_epoch_from_environment({}) is None


def test_a_malformed_source_date_epoch_is_an_input_error():
    with pytest.raises(InvalidInputError, match="SOURCE_DATE_EPOCH"):
        source_date_epoch_from_environment({"SOURCE_DATE_EPOCH": "yesterday"})


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is not installed")
def test_gnu_tar_lists_dockpys_tar_without_complaint(rich_tree, tmp_path):
    archive = tmp_path / "layer.tar"
    archive.write_bytes(layer_tar(rich_tree))
    listing = subprocess.run(["tar", "-tvf", str(archive)], capture_output=True, text=True, check=True)
    assert listing.stderr == ""
    assert "etc/hostname link to bin/hard2" in listing.stdout
    assert "-rwsr-xr-x 0/0" in listing.stdout
    assert len(listing.stdout.splitlines()) == len(members(rich_tree))


def test_a_missing_source_directory_is_a_store_error(tmp_path):
    from dockpy.errors import StoreError

    with pytest.raises(StoreError, match="missing"):
        layer_tar(tmp_path / "missing")


def test_a_file_bigger_than_one_read_reaches_the_output_whole_in_buffers_never_reused(tmp_path):
    from dockpy.layers.tarwriter import BIG_FILE_CHUNK

    data = os.urandom(2 * BIG_FILE_CHUNK + 1000)
    (tmp_path / "big").write_bytes(data)
    kept = []

    class KeepingOutput:  # keeps what it is given, as BackgroundWriter does
        def write(self, chunk) -> int:
            kept.append(chunk)
            return len(chunk)

    write_layer_tar(tmp_path, KeepingOutput())
    with tarfile.open(fileobj=io.BytesIO(b"".join(kept))) as archive:
        assert archive.extractfile("big").read() == data
