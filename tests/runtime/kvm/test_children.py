"""``children.find_program``: QEMU, mkfs.erofs and virtiofsd found on ``$PATH`` as ``shutil.which`` finds them."""

import os

from dockpy.runtime.kvm.children import find_program


def _program(path, mode=0o755):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(mode)
    return path


def test_the_first_executable_on_the_path_is_found(tmp_path, monkeypatch):
    _program(tmp_path / "a/tool", mode=0o644)  # not executable: passed over
    found = _program(tmp_path / "b/tool")
    _program(tmp_path / "c/tool")
    monkeypatch.setenv("PATH", os.pathsep.join(str(tmp_path / name) for name in "abc"))
    assert find_program("tool") == str(found)


def test_a_directory_of_that_name_is_not_a_program(tmp_path, monkeypatch):
    (tmp_path / "a/tool").mkdir(parents=True)
    monkeypatch.setenv("PATH", str(tmp_path / "a"))
    assert find_program("tool") is None


def test_a_program_missing_from_the_path_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_program("qemu-system-x86_64") is None
