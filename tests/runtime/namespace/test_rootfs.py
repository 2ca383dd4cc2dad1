"""Paths inside the container's root resolve inside it, whatever symlinks the image ships."""

import os

from dockpy.runtime.namespace.rootfs import resolve_in_root


def test_an_absolute_symlink_resolves_inside_the_root(tmp_path):
    (tmp_path / "etc").mkdir()
    os.symlink("/etc", tmp_path / "data")
    assert resolve_in_root(str(tmp_path), "/data/x") == str(tmp_path / "etc/x")


def test_dot_dot_cannot_climb_above_the_root(tmp_path):
    os.symlink("../../../../", tmp_path / "up")
    assert resolve_in_root(str(tmp_path), "/up/etc") == str(tmp_path / "etc")


def test_a_symlink_loop_is_an_error(tmp_path):
    os.symlink("/b", tmp_path / "a")
    os.symlink("/a", tmp_path / "b")
    try:
        resolve_in_root(str(tmp_path), "/a")
    except OSError as error:
        assert "symbolic links" in str(error)
    else:
        raise AssertionError("a loop must not resolve")
