"""Base-image templates build root filesystems without any registry."""

import os
import subprocess

import pytest

from dockpy.errors import InvalidInputError
from dockpy.image import templates

requires_busybox = pytest.mark.skipif(
    not templates.BUSYBOX_BINARY.exists(), reason="busybox-static is not installed (/bin/busybox)"
)


@requires_busybox
def test_busybox_rootfs_has_a_working_shell_and_applets(tmp_path):
    templates.build_busybox_rootfs(tmp_path)
    assert (tmp_path / "bin/sh").is_symlink()
    assert os.readlink(tmp_path / "usr/bin/awk") == "/bin/busybox"
    result = subprocess.run([str(tmp_path / "bin/busybox"), "sh", "-c", "echo ok"], capture_output=True, text=True)
    assert result.stdout == "ok\n"


@requires_busybox
def test_busybox_rootfs_has_dockers_accounts(tmp_path):
    templates.build_busybox_rootfs(tmp_path)
    users = {line.split(":")[0] for line in (tmp_path / "etc/passwd").read_text().splitlines()}
    assert {"root", "nobody", "www-data"} <= users
    assert oct((tmp_path / "tmp").stat().st_mode & 0o7777) == "0o1777"


def test_debian_suite_names_are_validated(tmp_path):
    with pytest.raises(InvalidInputError, match="invalid Debian suite"):
        templates.build_debian_rootfs(tmp_path, "../etc")
