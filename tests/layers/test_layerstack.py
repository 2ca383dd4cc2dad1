"""``LayerStack``: one path resolved through overlay-form layers, as overlayfs resolves it."""

import os
from pathlib import Path

from dockpy.layers.layerstack import LayerStack, walk_merged
from tests.conftest import requires_root
from tests.layers.conftest import DIR, OPAQUE_DIR, WHITEOUT, write_tree

pytestmark = requires_root


def stack_of(tmp_path, *trees):
    return LayerStack([write_tree(tmp_path / f"layer{i}", tree) for i, tree in enumerate(trees)])


def visible(stack):
    return {view.path: view for view in walk_merged(stack, stack.root())}


def test_the_top_most_layer_holding_a_path_wins(tmp_path):
    stack = stack_of(tmp_path, {"f": "top"}, {"f": "bottom", "g": "g"})
    views = visible(stack)
    assert Path(views["/f"].data).read_text() == "top" and "/g" in views


def test_a_whiteout_removes_the_path_from_the_layers_below(tmp_path):
    stack = stack_of(tmp_path, {"d": WHITEOUT}, {"d/x": "x"})
    assert visible(stack) == {}
    assert not stack.lookup(stack.root(), "d").exists


def test_an_opaque_directory_hides_the_layers_below_and_says_so(tmp_path):
    stack = stack_of(tmp_path, {"d": OPAQUE_DIR, "d/new": "n"}, {"d/old": "o"})
    assert sorted(visible(stack)) == ["/d", "/d/new"]
    assert stack.lookup(stack.root(), "d").hides_below


def test_directories_merge_until_the_stack_runs_out(tmp_path):
    stack = stack_of(tmp_path, {"d/a": "a"}, {"d/b": "b"}, {"d/c": "c"})
    d = stack.lookup(stack.root(), "d")
    assert len(d.layers) == 3 and not d.hides_below
    assert [v.name for v in stack.children(d)] == ["a", "b", "c"]


def test_a_file_below_a_directory_ends_the_merge(tmp_path):
    stack = stack_of(tmp_path, {"d/a": "a"}, {"d": "a file"}, {"d/c": "c"})
    d = stack.lookup(stack.root(), "d")
    assert d.hides_below and [v.name for v in stack.children(d)] == ["a"]


def test_a_missing_path_is_none(tmp_path):
    stack = stack_of(tmp_path, {"a": "a"})
    assert stack.lookup(stack.root(), "b") is None
    assert LayerStack([]).root() is None


def test_a_redirected_directory_continues_at_its_old_path(tmp_path):
    stack = stack_of(tmp_path, {"new": DIR, "old": WHITEOUT}, {"old/x": "x", "old": DIR})
    os.setxattr(os.path.join(stack.layers[0], "new"), "trusted.overlay.redirect", b"old")
    assert sorted(visible(stack)) == ["/new", "/new/x"]


def test_an_absolute_redirect_continues_from_the_layer_root(tmp_path):
    stack = stack_of(tmp_path, {"b/moved": DIR}, {"a/deep/x": "x", "b": DIR})
    os.setxattr(os.path.join(stack.layers[0], "b/moved"), "trusted.overlay.redirect", b"/a/deep")
    assert "/b/moved/x" in visible(stack)


def test_a_metacopy_file_takes_its_bytes_from_below(tmp_path):
    stack = stack_of(tmp_path, {"f": ""}, {"f": "real bytes"})
    os.setxattr(os.path.join(stack.layers[0], "f"), "trusted.overlay.metacopy", b"")
    view = stack.lookup(stack.root(), "f")
    assert view.entry.path == os.path.join(stack.layers[0], "f") and Path(view.data).read_text() == "real bytes"


def test_an_empty_file_with_the_whiteout_xattr_is_a_whiteout(tmp_path):
    stack = stack_of(tmp_path, {"f": ""}, {"f": "below"})
    os.setxattr(os.path.join(stack.layers[0], "f"), "trusted.overlay.whiteout", b"")
    assert not stack.lookup(stack.root(), "f").exists
