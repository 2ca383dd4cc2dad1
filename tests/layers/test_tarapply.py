"""The layer applier: whiteout modes, later-wins duplicates, metadata order, links."""

from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest

from dockpy.errors import InvalidInputError, UnsafeArchiveError
from dockpy.layers.tarapply import ApplyStats, apply_layer
from tests.conftest import requires_root
from tests.layers.layer_trees import CAP_NET_RAW, RICH_MTIME, build_tar, member

pytestmark = requires_root


def file_entry(name, data=b"data\n", **options):
    return member(name, **options), data


def directory_entry(name, mode=0o755, **options):
    return member(name, tarfile.DIRTYPE, mode=mode, **options), None


def apply(target, *entries, **options) -> ApplyStats:
    target.mkdir(exist_ok=True)
    return apply_layer(io.BytesIO(build_tar(*entries)), target, **options)


def listing(directory) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


def test_overlay_mode_turns_a_whiteout_into_a_0_0_character_device(tmp_path):
    apply(tmp_path / "t", file_entry("dir/.wh.gone", b""))
    st = os.lstat(tmp_path / "t/dir/gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert stat.S_IMODE(st.st_mode) == 0
    assert not (tmp_path / "t/dir/.wh.gone").exists()


def test_overlay_mode_turns_an_opaque_marker_into_the_trusted_opaque_xattr(tmp_path):
    apply(tmp_path / "t", directory_entry("dir"), file_entry("dir/.wh..wh..opq", b""), file_entry("dir/new"))
    assert os.getxattr(tmp_path / "t/dir", "trusted.overlay.opaque") == b"y"
    assert listing(tmp_path / "t") == ["dir", "dir/new"]


def test_overlay_mode_can_mark_opaque_with_the_user_namespace_xattr(tmp_path):
    apply(tmp_path / "t", file_entry("dir/.wh..wh..opq", b""), overlay_xattr_prefix="user.overlay.")
    assert os.getxattr(tmp_path / "t/dir", "user.overlay.opaque") == b"y"
    assert "trusted.overlay.opaque" not in os.listxattr(tmp_path / "t/dir")


def test_delete_mode_removes_what_a_whiteout_names(tmp_path):
    target = tmp_path / "t"
    apply(target, file_entry("keep"), file_entry("dir/file"), file_entry("dir/sub/deep"))
    apply(target, file_entry(".wh.keep", b""), file_entry("dir/.wh.sub", b""), whiteout_mode="delete")
    assert listing(target) == ["dir", "dir/file"]


def test_delete_mode_whiteout_of_a_missing_path_is_harmless(tmp_path):
    apply(tmp_path / "t", file_entry("nothing/.wh.here", b""), whiteout_mode="delete")
    assert listing(tmp_path / "t") == []


def test_delete_mode_opaque_marker_keeps_only_this_layers_entries_wherever_the_marker_is(tmp_path):
    target = tmp_path / "t"
    apply(target, file_entry("dir/lower"), file_entry("dir/sub/lower"), file_entry("dir/sub/also-lower"))
    apply(
        target,
        directory_entry("dir"),
        file_entry("dir/sub/upper"),
        file_entry("dir/.wh..wh..opq", b""),  # after entries of its own layer: they stay
        file_entry("dir/z-upper"),
        whiteout_mode="delete",
    )
    assert listing(target) == ["dir", "dir/sub", "dir/sub/upper", "dir/z-upper"]


def test_a_later_entry_for_the_same_path_wins(tmp_path):
    apply(tmp_path / "t", file_entry("f", b"first"), file_entry("f", b"second"))
    assert (tmp_path / "t/f").read_bytes() == b"second"


def test_a_directory_over_a_directory_keeps_its_contents_and_takes_the_new_metadata(tmp_path):
    apply(tmp_path / "t", directory_entry("d"), file_entry("d/f"), directory_entry("d", mode=0o700))
    assert listing(tmp_path / "t") == ["d", "d/f"]
    assert stat.S_IMODE(os.stat(tmp_path / "t/d").st_mode) == 0o700


def test_a_file_over_a_directory_replaces_the_whole_directory(tmp_path):
    apply(tmp_path / "t", directory_entry("d"), file_entry("d/f"), file_entry("d", b"now a file"))
    assert (tmp_path / "t/d").read_bytes() == b"now a file"


def test_a_directory_made_again_after_being_replaced_starts_empty(tmp_path):
    apply(
        tmp_path / "t",
        directory_entry("d"),
        file_entry("d/old"),
        file_entry("d", b"a file for a while"),
        directory_entry("d"),
        file_entry("d/new"),
    )
    assert listing(tmp_path / "t") == ["d", "d/new"]


def test_parents_the_tar_does_not_list_are_made_0755(tmp_path):
    os.umask(old_umask := os.umask(0o077))
    try:
        apply(tmp_path / "t", file_entry("a/b/c"))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(tmp_path / "t/a/b").st_mode) == 0o755


def test_the_root_entry_and_leading_dot_slash_are_handled_like_docker(tmp_path):
    apply(tmp_path / "t", directory_entry("./", mode=0o700), file_entry("./etc//passwd"))
    assert listing(tmp_path / "t") == ["etc", "etc/passwd"]
    assert stat.S_IMODE(os.stat(tmp_path / "t").st_mode) != 0o700


def test_directory_mtime_and_read_only_mode_are_set_after_their_contents(tmp_path):
    apply(tmp_path / "t", directory_entry("ro", mode=0o555, mtime=RICH_MTIME), file_entry("ro/f", mtime=RICH_MTIME + 9))
    st = os.stat(tmp_path / "t/ro")
    assert (stat.S_IMODE(st.st_mode), st.st_mtime) == (0o555, RICH_MTIME)
    assert os.stat(tmp_path / "t/ro/f").st_mtime == RICH_MTIME + 9


def test_setuid_survives_the_ownership_change(tmp_path):
    info, data = file_entry("suid", mode=0o4755)
    info.uid, info.gid = 1000, 1000
    apply(tmp_path / "t", (info, data))
    st = os.stat(tmp_path / "t/suid")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o4755, 1000, 1000)


def test_file_capabilities_survive_the_ownership_change(tmp_path):
    info, data = file_entry("ping", **{"SCHILY__xattr__security__capability": CAP_NET_RAW.decode("latin-1")})
    info.uid = 1000
    apply(tmp_path / "t", (info, data))
    assert os.getxattr(tmp_path / "t/ping", "security.capability") == CAP_NET_RAW


def test_same_owner_false_leaves_files_owned_by_the_caller(tmp_path):
    info, data = file_entry("f")
    info.uid, info.gid = 1000, 1000
    apply(tmp_path / "t", (info, data), same_owner=False)
    assert os.stat(tmp_path / "t/f").st_uid == os.geteuid()


def test_an_xattr_the_filesystem_refuses_is_skipped(tmp_path):
    link = member("link", tarfile.SYMTYPE, linkname="target", SCHILY__xattr__user__x="1")  # no user.* on symlinks
    apply(tmp_path / "t", (link, None))
    assert os.readlink(tmp_path / "t/link") == "target"


def test_overlay_private_xattrs_in_a_tar_are_ignored(tmp_path):
    apply(tmp_path / "t", directory_entry("d", SCHILY__xattr__trusted__overlay__redirect="/etc"))
    assert os.listxattr(tmp_path / "t/d") == []


def test_a_hard_link_shares_the_inode_of_its_target(tmp_path):
    apply(tmp_path / "t", file_entry("a", b"shared"), (member("b", tarfile.LNKTYPE, linkname="a"), None))
    assert os.stat(tmp_path / "t/a").st_ino == os.stat(tmp_path / "t/b").st_ino


def test_a_hard_link_to_a_symlink_links_the_symlink_itself(tmp_path):
    apply(
        tmp_path / "t",
        (member("s", tarfile.SYMTYPE, linkname="/etc/passwd"), None),
        (member("h", tarfile.LNKTYPE, linkname="s"), None),
    )
    assert os.readlink(tmp_path / "t/h") == "/etc/passwd"


def test_a_hard_link_to_a_path_that_became_a_directory_is_refused(tmp_path):
    with pytest.raises(UnsafeArchiveError, match="c is a hard link to 'a', which is not an earlier file"):
        apply(
            tmp_path / "t",
            file_entry("a"),
            (member("keep", tarfile.LNKTYPE, linkname="a"), None),
            directory_entry("a"),
            (member("b", tarfile.LNKTYPE, linkname="keep"), None),
            (member("c", tarfile.LNKTYPE, linkname="a"), None),
        )


def test_apply_reports_entries_and_bytes(tmp_path):
    stats = apply(tmp_path / "t", directory_entry("d"), file_entry("d/f", b"12345"), file_entry("d/.wh.x", b""))
    assert stats == ApplyStats(entries=3, bytes=5)


def test_an_unknown_whiteout_mode_is_an_input_error(tmp_path):
    with pytest.raises(InvalidInputError, match="whiteout mode"):
        apply(tmp_path / "t", file_entry("f"), whiteout_mode="aufs")


def test_trailing_data_after_the_end_marker_is_read_and_ignored(tmp_path):
    (tmp_path / "t").mkdir()
    stream = io.BytesIO(build_tar(file_entry("f")) + b"junk" * 1000)
    apply_layer(stream, tmp_path / "t")
    assert stream.read() == b""
    assert listing(tmp_path / "t") == ["f"]
