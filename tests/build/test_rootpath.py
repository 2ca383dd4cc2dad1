import os

from dockpy.build.rootpath import clean_absolute, resolve_in_root


def test_absolute_symlinks_resolve_inside_the_root(tmp_path):
    (tmp_path / "usr/bin").mkdir(parents=True)
    os.symlink("/usr/bin", tmp_path / "bin")
    assert resolve_in_root(str(tmp_path), "/bin/tool") == str(tmp_path / "usr/bin/tool")


def test_dot_dot_and_escaping_symlinks_stop_at_the_root(tmp_path):
    os.symlink("../../../..", tmp_path / "up")
    assert resolve_in_root(str(tmp_path), "/up/etc/passwd") == str(tmp_path / "etc/passwd")
    assert resolve_in_root(str(tmp_path), "/../../etc") == str(tmp_path / "etc")


def test_the_last_component_is_kept_when_asked(tmp_path):
    os.symlink("/target", tmp_path / "link")
    assert resolve_in_root(str(tmp_path), "/link", follow_last=False) == str(tmp_path / "link")


def test_clean_absolute_joins_with_the_working_dir():
    assert clean_absolute("a/../b/", "/app") == "/app/b"
    assert clean_absolute("/x//y", "/app") == "/x/y"
    assert clean_absolute(".", "/app") == "/app"
