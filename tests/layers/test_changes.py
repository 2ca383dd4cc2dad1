"""``list_changes``: docker diff's A/C/D rules, on upper dirs made by real overlay mounts."""

import os
import shutil

from dockpy.layers.changes import Change, compare_trees, list_changes
from dockpy.layers.layerstack import LayerStack, make_whiteout
from tests.conftest import requires_root
from tests.layers.conftest import DIR, WHITEOUT, write_tree

pytestmark = requires_root

BASE = {"etc": DIR, "etc/hosts": "127.0.0.1\n", "etc/old": "old", "usr/bin/tool": "#!", "var/lib/data/x": "x"}


def lines(changes):
    return [str(change) for change in changes]


def changes_after(overlay_change, modify, lowers=(BASE,)):
    upper, lower_dirs = overlay_change(list(lowers), modify)
    return lines(list_changes(upper, lower_dirs))


def test_an_untouched_container_has_no_changes(overlay_change):
    assert changes_after(overlay_change, lambda merged: None) == []


def test_a_new_file_is_added_and_its_existing_parent_changed(overlay_change):
    assert changes_after(overlay_change, lambda m: (m / "etc/new").write_text("n")) == ["C /etc", "A /etc/new"]


def test_a_new_file_at_the_root_changes_nothing_else(overlay_change):
    assert changes_after(overlay_change, lambda m: (m / "new").write_text("n")) == ["A /new"]


def test_everything_under_a_new_directory_is_added(overlay_change):
    def modify(merged):
        (merged / "opt/app/sub").mkdir(parents=True)
        (merged / "opt/app/sub/y").write_text("y")

    assert changes_after(overlay_change, modify) == ["A /opt", "A /opt/app", "A /opt/app/sub", "A /opt/app/sub/y"]


def test_a_rewritten_file_is_changed(overlay_change):
    assert changes_after(overlay_change, lambda m: (m / "etc/hosts").write_text("::1\n")) == ["C /etc", "C /etc/hosts"]


def test_a_deleted_file_is_deleted(overlay_change):
    assert changes_after(overlay_change, lambda m: (m / "etc/old").unlink()) == ["C /etc", "D /etc/old"]


def test_only_the_top_most_path_of_a_deleted_tree_is_listed(overlay_change):
    assert changes_after(overlay_change, lambda m: shutil.rmtree(m / "var/lib")) == ["C /var", "D /var/lib"]


def test_a_directory_made_again_lists_its_hidden_entries_as_deleted(overlay_change):
    def modify(merged):
        shutil.rmtree(merged / "etc")
        (merged / "etc").mkdir()
        (merged / "etc/hosts").write_text("new hosts")
        (merged / "etc/fresh").write_text("f")

    assert changes_after(overlay_change, modify) == ["C /etc", "A /etc/fresh", "C /etc/hosts", "D /etc/old"]


def test_a_file_replaced_by_a_directory_is_changed_and_its_content_added(overlay_change):
    def modify(merged):
        (merged / "etc/hosts").unlink()
        (merged / "etc/hosts").mkdir()
        (merged / "etc/hosts/inner").write_text("i")

    assert changes_after(overlay_change, modify) == ["C /etc", "C /etc/hosts", "A /etc/hosts/inner"]


def test_a_directory_replaced_by_a_file_is_changed_without_listing_its_old_content(overlay_change):
    def modify(merged):
        shutil.rmtree(merged / "var/lib/data")
        (merged / "var/lib/data").write_text("now a file")

    assert changes_after(overlay_change, modify) == ["C /var", "C /var/lib", "C /var/lib/data"]


def test_a_renamed_file_is_deleted_at_its_old_path_and_added_at_the_new_one(overlay_change):
    assert changes_after(overlay_change, lambda m: os.rename(m / "etc/old", m / "etc/older")) == [
        "C /etc",
        "D /etc/old",
        "A /etc/older",
    ]


def test_a_chmod_on_a_directory_changes_it(overlay_change):
    assert changes_after(overlay_change, lambda m: os.chmod(m / "usr", 0o700)) == ["C /usr"]


def test_a_file_created_then_removed_leaves_no_change(overlay_change):
    def modify(merged):
        (merged / "etc/tmp").write_text("t")
        (merged / "etc/tmp").unlink()

    assert changes_after(overlay_change, modify) == []


def test_a_path_deleted_in_a_lower_layer_and_made_again_is_added(overlay_change):
    lowers = ({"etc": DIR, "etc/gone": WHITEOUT}, {"etc/gone": "was here"})
    upper, lower_dirs = overlay_change(list(lowers), lambda m: (m / "etc/gone").write_text("back"))
    assert lines(list_changes(upper, lower_dirs)) == ["C /etc", "A /etc/gone"]


def test_a_whiteout_of_a_path_no_layer_holds_is_no_change(tmp_path):
    lower = write_tree(tmp_path / "lower", {"a": "a"})
    upper = write_tree(tmp_path / "upper", {})
    make_whiteout(upper / "never-existed")
    assert list_changes(upper, [lower]) == []


def test_without_lower_layers_everything_is_added(tmp_path):
    upper = write_tree(tmp_path / "upper", {"a/b": "b", "c": "c"})
    assert lines(list_changes(upper, [])) == ["A /a", "A /a/b", "A /c"]


def test_changes_are_sorted_by_path(overlay_change):
    def modify(merged):
        for name in ("zeta", "alpha", "etc/mid"):
            (merged / name).write_text(name)

    result = list_changes(*overlay_change([BASE], modify))
    assert [change.path for change in result] == sorted(change.path for change in result)
    assert result[0] == Change("A", "/alpha")


def test_the_fast_path_agrees_with_comparing_the_trees(overlay_change):
    def modify(merged):
        (merged / "etc/old").unlink()
        (merged / "etc/hosts").write_text("changed content")
        shutil.rmtree(merged / "var/lib")
        (merged / "var/lib").mkdir()
        (merged / "var/lib/new").write_text("n")
        (merged / "srv/www").mkdir(parents=True)

    upper, lower_dirs = overlay_change([BASE], modify)
    trees = compare_trees(LayerStack(lower_dirs), LayerStack([upper, *lower_dirs]))
    assert list_changes(upper, lower_dirs) == trees


REDIRECTING = ("redirect_dir=on", "metacopy=on", "index=off")


def test_a_renamed_lower_directory_under_redirect_dir_lists_all_its_content(overlay_change):
    lowers = [{"app/lib/one": "1", "app/lib/two": "2"}]
    upper, lower_dirs = overlay_change(lowers, lambda m: os.rename(m / "app/lib", m / "app/lib2"), REDIRECTING)
    assert lines(list_changes(upper, lower_dirs)) == [
        "C /app",
        "D /app/lib",
        "A /app/lib2",
        "A /app/lib2/one",
        "A /app/lib2/two",
    ]


def test_a_metacopy_chmod_is_a_change(overlay_change):
    upper, lower_dirs = overlay_change([BASE], lambda m: os.chmod(m / "usr/bin/tool", 0o700), REDIRECTING)
    assert lines(list_changes(upper, lower_dirs)) == ["C /usr", "C /usr/bin", "C /usr/bin/tool"]
