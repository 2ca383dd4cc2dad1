"""``squash``: a stack of layers merged into one dir that shows what the stack shows."""

import os

from dockpy.layers.layerstack import overlay_xattrs
from dockpy.layers.mounts import Mount
from dockpy.layers.squash import squash
from tests.conftest import requires_root
from tests.layers.conftest import DIR, OPAQUE_DIR, WHITEOUT, read_tree, write_tree

pytestmark = requires_root

TOP = {"etc/hosts": "new hosts", "etc/old": WHITEOUT, "var": OPAQUE_DIR, "var/fresh": "f", "link": "-> etc/hosts"}
MIDDLE = {"etc/middle": "m", "var/log/app": "hidden by the opaque var", "gone": WHITEOUT}
BOTTOM = {"etc/hosts": "old hosts", "etc/old": "o", "var/cache/x": "x", "gone": "g", "kept": "k"}


def layers(tmp_path, *trees):
    return [write_tree(tmp_path / f"layer{i}", tree) for i, tree in enumerate(trees)]


def mounted_view(mounts, target, lower_dirs):
    """What overlayfs itself shows for ``lower_dirs`` (a read-only overlay of them)."""
    return read_tree(mounts.mount([Mount("overlay", "overlay", (), tuple(map(str, lower_dirs)))], target))


def test_a_plain_squash_shows_what_the_overlay_shows(tmp_path, mounts):
    stack = layers(tmp_path, TOP, MIDDLE, BOTTOM)
    squash(stack, tmp_path / "plain")
    expected = mounted_view(mounts, tmp_path / "merged", stack)
    assert read_tree(tmp_path / "plain") == expected
    assert expected["etc/hosts"] == "new hosts" and "etc/old" not in expected and "var/cache" not in expected


def test_an_overlay_form_squash_on_the_layers_below_shows_the_whole_stack(tmp_path, mounts):
    top, middle, bottom = layers(tmp_path, TOP, MIDDLE, BOTTOM)
    squash([top, middle], tmp_path / "squashed", overlay_form=True)
    assert read_tree(tmp_path / "squashed")["gone"] == WHITEOUT
    whole = mounted_view(mounts, tmp_path / "whole", [top, middle, bottom])
    assert mounted_view(mounts, tmp_path / "after", [tmp_path / "squashed", bottom]) == whole


def test_a_directory_replacing_a_whiteout_becomes_opaque_in_overlay_form(tmp_path):
    top, middle = layers(tmp_path, {"d/new": "n"}, {"d": WHITEOUT})
    squash([top, middle], tmp_path / "squashed", overlay_form=True)
    assert read_tree(tmp_path / "squashed") == {"d": OPAQUE_DIR, "d/new": "n"}


def test_a_plain_squash_leaves_no_whiteouts_or_opaque_marks(tmp_path):
    squash(layers(tmp_path, TOP, MIDDLE, BOTTOM), tmp_path / "plain")
    tree = read_tree(tmp_path / "plain")
    assert WHITEOUT not in tree.values() and OPAQUE_DIR not in tree.values()


def test_hard_links_stay_linked(tmp_path):
    (top,) = layers(tmp_path, {"a": "shared", "dir": DIR})
    os.link(top / "a", top / "dir/b")
    squash([top], tmp_path / "plain")
    assert os.stat(tmp_path / "plain/a").st_ino == os.stat(tmp_path / "plain/dir/b").st_ino


def test_owner_mode_xattrs_and_mtime_are_kept_but_overlay_marks_are_not(tmp_path):
    (top,) = layers(tmp_path, {"f": "f", "d": OPAQUE_DIR})
    os.chown(top / "f", 1234, 5678)
    os.chmod(top / "f", 0o4751)
    os.setxattr(top / "f", "user.note", b"kept")
    os.utime(top / "f", ns=(1, 1_000_000_123))
    squash([top], tmp_path / "plain")
    copied = os.lstat(tmp_path / "plain/f")
    assert (copied.st_uid, copied.st_gid, copied.st_mode & 0o7777) == (1234, 5678, 0o4751)
    assert copied.st_mtime_ns == 1_000_000_123
    assert os.getxattr(tmp_path / "plain/f", "user.note") == b"kept"
    assert overlay_xattrs(tmp_path / "plain/d") == {}
