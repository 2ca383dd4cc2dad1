"""Reading an archive's members: names are clean and stay inside, only files and links, links resolved."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from dockpy.errors import UnsafeArchiveError
from dockpy.image.archive.members import MemberKind, directory_members, tar_members
from tests.image.archive.conftest import make_tar


def read_all(data: bytes) -> dict[str, object]:
    return {member.name: data.read() if member.kind is MemberKind.FILE else member.link_target
            for member, data in tar_members(io.BytesIO(data))}


def test_names_are_cleaned_and_directories_skipped():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        directory = tarfile.TarInfo("./blobs")
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
        info = tarfile.TarInfo("./blobs//sha256/./x")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    assert read_all(buffer.getvalue()) == {"blobs/sha256/x": b"hi"}


@pytest.mark.parametrize("name", ["../escape", "blobs/../../escape", "/etc/passwd"])
def test_a_name_leaving_the_archive_is_refused(name):
    with pytest.raises(UnsafeArchiveError, match="absolute|'\\.\\.'"):
        read_all(make_tar({name: b"x"}))


def test_a_symlink_is_resolved_against_its_own_directory():
    data = make_tar({"abc.tar": b"layer"}, symlinks={"id/layer.tar": "../abc.tar"})
    assert read_all(data) == {"abc.tar": b"layer", "id/layer.tar": "abc.tar"}


@pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/passwd", "../.."])
def test_a_symlink_pointing_outside_is_refused(target):
    with pytest.raises(UnsafeArchiveError, match="symlink"):
        read_all(make_tar({}, symlinks={"id/layer.tar": target}))


def test_a_hard_link_names_a_member_from_the_archive_root():
    data = make_tar({"a/x.tar": b"layer"}, hardlinks={"b/layer.tar": "a/x.tar"})
    assert read_all(data)["b/layer.tar"] == "a/x.tar"


def test_a_hard_link_outside_is_refused():
    with pytest.raises(UnsafeArchiveError, match="'\\.\\.'"):
        read_all(make_tar({}, hardlinks={"layer.tar": "../../etc/shadow"}))


def test_a_device_node_is_refused():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("dev")
        info.type = tarfile.CHRTYPE
        tar.addfile(info)
    with pytest.raises(UnsafeArchiveError, match="special file"):
        read_all(buffer.getvalue())


def test_a_gzip_compressed_archive_is_read_like_a_plain_one():
    import gzip

    assert read_all(gzip.compress(make_tar({"index.json": b"{}"}))) == {"index.json": b"{}"}


def test_a_truncated_archive_is_reported():
    data = make_tar({"blob": b"x" * 5000})
    with pytest.raises(UnsafeArchiveError, match="truncated"):
        read_all(data[:3000])


def test_a_directory_lists_files_and_links_in_sorted_order(tmp_path):
    (tmp_path / "blobs" / "sha256").mkdir(parents=True)
    (tmp_path / "blobs" / "sha256" / "b").write_bytes(b"B")
    (tmp_path / "index.json").write_bytes(b"{}")
    os.symlink("blobs/sha256/b", tmp_path / "alias")
    members = [(m.name, m.kind) for m, _ in directory_members(tmp_path)]
    assert members == [("alias", MemberKind.LINK), ("index.json", MemberKind.FILE), ("blobs/sha256/b", MemberKind.FILE)]


def test_a_directory_symlink_out_of_the_layout_is_refused(tmp_path):
    os.symlink("/etc", tmp_path / "blobs")
    with pytest.raises(UnsafeArchiveError, match="symlink"):
        list(directory_members(tmp_path))
