"""``vacuum``: entries an upper dir holds in vain are removed; the merged view does not change."""

import os
import shutil

from dockpy.layers.changes import list_changes
from dockpy.layers.layerstack import make_whiteout
from dockpy.layers.mounts import Mount
from dockpy.layers.vacuum import vacuum
from tests.conftest import requires_root
from tests.layers.conftest import DIR, OPAQUE_DIR, WHITEOUT, read_tree, write_tree

pytestmark = requires_root

BASE = {"etc/hosts": "hosts", "etc/passwd": "root:x:0:0", "bin/sh": "elf", "lib/sub/x": "x"}


def copy_up_without_change(merged):
    """Opening for writing copies a file up even when nothing is written."""
    with open(merged / "etc/hosts", "r+b"):
        pass


def test_a_file_copied_up_but_unchanged_is_removed(overlay_change):
    upper, lowers = overlay_change([BASE], copy_up_without_change)
    assert [str(c) for c in list_changes(upper, lowers)] == ["C /etc", "C /etc/hosts"]
    assert vacuum(upper, lowers) == ["/etc", "/etc/hosts"]
    assert list_changes(upper, lowers) == [] and read_tree(upper) == {}


def test_a_changed_file_is_kept(overlay_change):
    def modify(merged):
        copy_up_without_change(merged)
        (merged / "etc/passwd").write_text("root:x:0:0:changed")

    upper, lowers = overlay_change([BASE], modify)
    assert vacuum(upper, lowers) == ["/etc/hosts"]
    assert [str(c) for c in list_changes(upper, lowers)] == ["C /etc", "C /etc/passwd"]


def test_same_bytes_with_another_mode_are_kept(overlay_change):
    upper, lowers = overlay_change([BASE], lambda merged: os.chmod(merged / "bin/sh", 0o700))
    assert vacuum(upper, lowers) == []


def test_a_whiteout_of_a_path_no_layer_holds_is_removed(tmp_path):
    lower = write_tree(tmp_path / "lower", BASE)
    upper = write_tree(tmp_path / "upper", {"etc": DIR})
    make_whiteout(upper / "never-existed")
    make_whiteout(upper / "etc/hosts")
    os.utime(upper / "etc", ns=(os.stat(lower / "etc").st_atime_ns, os.stat(lower / "etc").st_mtime_ns))
    assert vacuum(upper, [lower]) == ["/never-existed"]
    assert read_tree(upper) == {"etc": DIR, "etc/hosts": WHITEOUT}


def test_an_opaque_directory_is_kept_even_when_empty(overlay_change):
    def remake(merged):
        shutil.rmtree(merged / "lib")
        (merged / "lib").mkdir()

    upper, lowers = overlay_change([BASE], remake)
    assert vacuum(upper, lowers) == []
    assert read_tree(upper) == {"lib": OPAQUE_DIR}


def test_vacuum_leaves_the_merged_view_unchanged(overlay_change, tmp_path, mounts):
    def modify(merged):
        copy_up_without_change(merged)
        (merged / "etc/new").write_text("n")
        (merged / "bin/sh").unlink()

    upper, lowers = overlay_change([BASE], modify)
    spec = [Mount("overlay", "overlay", (), (str(upper), *map(str, lowers)))]
    before = read_tree(mounts.mount(spec, tmp_path / "before"))
    vacuum(upper, lowers)
    assert read_tree(mounts.mount(spec, tmp_path / "after")) == before
