"""Whiteout names and the overlayfs forms of deletion."""

from __future__ import annotations

import os
import stat

from dockpy.layers import whiteouts
from tests.conftest import requires_root


def test_a_whiteout_name_is_the_prefix_and_the_deleted_name():
    assert whiteouts.whiteout_name(b"passwd") == b".wh.passwd"
    assert whiteouts.whited_out_name(b".wh.passwd") == b"passwd"


def test_the_opaque_marker_and_other_metadata_are_not_whiteouts_of_a_name():
    assert whiteouts.whited_out_name(whiteouts.OPAQUE_MARKER_BYTES) is None
    assert whiteouts.whited_out_name(b".wh..wh.plnk") is None
    assert whiteouts.whited_out_name(b"plain") is None
    assert whiteouts.is_opaque_marker(b".wh..wh..opq")


def test_only_y_makes_a_directory_opaque():
    assert whiteouts.is_opaque_value({"trusted.overlay.opaque": b"y"})
    assert whiteouts.is_opaque_value({"user.overlay.opaque": b"y"})
    assert not whiteouts.is_opaque_value({"trusted.overlay.opaque": b"x"})


def test_overlay_private_xattrs_are_both_namespaces_and_nothing_else():
    assert whiteouts.is_overlay_private("trusted.overlay.origin")
    assert whiteouts.is_overlay_private("user.overlay.impure")
    assert not whiteouts.is_overlay_private("user.overlayish")
    assert not whiteouts.is_overlay_private("security.capability")


def test_redirect_and_metacopy_change_the_meaning_of_an_upper_entry():
    assert whiteouts.changes_meaning_of_upper("trusted.overlay.redirect")
    assert whiteouts.changes_meaning_of_upper("user.overlay.metacopy")
    assert not whiteouts.changes_meaning_of_upper("trusted.overlay.opaque")


@requires_root
def test_a_made_overlay_whiteout_is_a_0_0_character_device_with_mode_0(tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        whiteouts.make_overlay_whiteout(fd, b"gone")
        whiteouts.mark_opaque(fd)
    finally:
        os.close(fd)
    st = os.lstat(tmp_path / "gone")
    assert whiteouts.is_overlay_whiteout(st) and stat.S_IMODE(st.st_mode) == 0
    assert os.getxattr(tmp_path, "trusted.overlay.opaque") == b"y"
