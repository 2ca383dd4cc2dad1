"""The newc cpio writer: what busybox cpio (the kernel's format reader) gets back."""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import pytest

from dockpy.runtime.kvm.cpio import CpioWriter


def _archive() -> bytes:
    buffer = io.BytesIO()
    writer = CpioWriter(buffer)
    writer.add_directory("bin")
    writer.add_file("bin/tool", b"#!/bin/sh\necho hi\n", mode=0o755)
    writer.add_symlink("bin/alias", "tool")
    writer.add_file("odd-length", b"abc")
    writer.finish()
    return buffer.getvalue()


def test_archive_is_deterministic():
    assert _archive() == _archive()


def test_entries_are_aligned_to_four_bytes():
    assert len(_archive()) % 4 == 0


def test_archive_ends_with_the_trailer():
    assert b"TRAILER!!!\0" in _archive()[-128:]


@pytest.mark.skipif(shutil.which("busybox") is None, reason="busybox is not installed")
def test_busybox_cpio_extracts_files_links_and_modes(tmp_path):
    subprocess.run(["busybox", "cpio", "-i", "-d"], input=_archive(), cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "bin/tool").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert os.stat(tmp_path / "bin/tool").st_mode & 0o777 == 0o755
    assert os.readlink(tmp_path / "bin/alias") == "tool"
    assert (tmp_path / "odd-length").read_bytes() == b"abc"
