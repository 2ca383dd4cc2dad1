"""Crafted hostile archives: each is refused with a clear error or contained, and nothing outside moves.

Every case runs against a target directory next to an ``outside`` directory
holding a sentinel file; after the apply, the sentinel and the rest of
``outside`` must be exactly as before. The same archives go through
``store_layer_from_tar`` (``import``/``load``), which must refuse the same ones
and store nothing.
"""

from __future__ import annotations

import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from dockpy.errors import UnsafeArchiveError
from dockpy.layers.compression import store_layer_from_tar
from dockpy.layers.content import ContentStore
from dockpy.layers.tarapply import apply_layer
from tests.conftest import requires_root
from tests.layers.layer_trees import build_tar, member

SENTINEL_CONTENT = b"precious\n"


@dataclass(frozen=True)
class Hostile:
    """A crafted archive: ``refusal`` is the expected error's pattern, or None if it is contained."""

    name: str
    build: Callable[[Path], bytes]  # given the outside directory
    refusal: str | None
    whiteout_mode: str = "overlay"

    def __str__(self) -> str:
        return self.name


def raw_header(name: bytes, *, size_field: bytes = b"00000000000\0", typeflag: bytes = b"0", checksum_delta=0) -> bytes:
    """A ustar header block built byte by byte, to say what tarfile refuses to write."""
    block = bytearray(512)
    block[0 : len(name)] = name
    block[100:108] = b"0000644\0"
    block[108:116] = b"0000000\0"
    block[116:124] = b"0000000\0"
    block[124:136] = size_field
    block[136:148] = b"00000000000\0"
    block[148:156] = b" " * 8
    block[156:157] = typeflag
    block[257:265] = b"ustar\x0000"
    block[148:156] = b"%06o\0 " % (sum(block) + checksum_delta)
    return bytes(block)


def file_entry(name: str, data: bytes = b"pwned\n", **pax) -> tuple:
    return member(name, **pax), data


def symlink_entry(name: str, target: str) -> tuple:
    return member(name, tarfile.SYMTYPE, linkname=target), None


def hard_link_entry(name: str, target: str) -> tuple:
    return member(name, tarfile.LNKTYPE, linkname=target), None


def directory_entry(name: str) -> tuple:
    return member(name, tarfile.DIRTYPE, mode=0o755), None


def truncated(data: bytes, keep: int) -> bytes:
    return data[:keep]


HOSTILE = [
    Hostile("dotdot", lambda out: build_tar(file_entry("../outside/sentinel")), r"'\.\.'"),
    Hostile("dotdot-after-a-directory", lambda out: build_tar(file_entry("a/../../outside/sentinel")), r"'\.\.'"),
    Hostile("absolute-path-is-stripped", lambda out: build_tar(file_entry(str(out / "sentinel"))), None),
    Hostile(
        "symlink-parent-absolute",
        lambda out: build_tar(symlink_entry("link", str(out)), file_entry("link/sentinel")),
        "symlink",
    ),
    Hostile(
        "symlink-parent-relative",
        lambda out: build_tar(symlink_entry("up", "../outside"), file_entry("up/sentinel")),
        "symlink",
    ),
    Hostile(
        "symlink-chain-parent",
        lambda out: build_tar(symlink_entry("b", str(out)), symlink_entry("a", "b"), file_entry("a/sentinel")),
        "symlink",
    ),
    Hostile(
        "directory-replaced-by-symlink-then-written-through",
        lambda out: build_tar(
            directory_entry("d"), file_entry("d/x"), symlink_entry("d", str(out)), file_entry("d/sentinel")
        ),
        "symlink",
    ),
    Hostile(
        "directory-replaced-by-file-then-written-through",
        lambda out: build_tar(directory_entry("d"), file_entry("d/x"), file_entry("d"), file_entry("d/y")),
        "not a directory",
    ),
    Hostile(
        "file-over-symlink-replaces-the-link",
        lambda out: build_tar(symlink_entry("f", str(out / "sentinel")), file_entry("f", b"replaced\n")),
        None,
    ),
    Hostile("hard-link-with-dotdot", lambda out: build_tar(hard_link_entry("h", "../outside/sentinel")), r"'\.\.'"),
    Hostile("hard-link-absolute", lambda out: build_tar(hard_link_entry("h", str(out / "sentinel"))), "not an earlier file"),
    Hostile("hard-link-to-missing-target", lambda out: build_tar(hard_link_entry("h", "nothere")), "not an earlier file"),
    Hostile(
        "hard-link-through-symlink",
        lambda out: build_tar(symlink_entry("s", str(out)), hard_link_entry("h", "s/sentinel")),
        "not an earlier file",
    ),
    Hostile(
        "hard-link-to-a-deleted-file",
        lambda out: build_tar(file_entry("f"), file_entry(".wh.f"), hard_link_entry("h", "f")),
        "not an earlier file",
        whiteout_mode="delete",
    ),
    Hostile("whiteout-of-dotdot", lambda out: build_tar(file_entry("dir/.wh..."), ), "names no file"),
    Hostile("whiteout-outside", lambda out: build_tar(file_entry("../outside/.wh.sentinel")), r"'\.\.'", "delete"),
    Hostile(
        "whiteout-through-symlink",
        lambda out: build_tar(symlink_entry("s", str(out)), file_entry("s/.wh.sentinel")),
        "symlink",
        "delete",
    ),
    Hostile("whiteout-used-as-directory", lambda out: build_tar(file_entry("a/.wh.x/y")), "whiteout as a directory"),
    Hostile("unknown-whiteout-metadata", lambda out: build_tar(file_entry("a/.wh..wh.evil")), "whiteout metadata"),
    Hostile(
        "oversize-pax-header",
        lambda out: build_tar(file_entry("f", comment="x" * (2 << 20))),
        "extended header",
    ),
    Hostile("pax-path-with-dotdot", lambda out: build_tar(file_entry("benign", path="../outside/sentinel")), r"'\.\.'"),
    Hostile(
        "gnu-long-name-with-dotdot",
        lambda out: build_tar(file_entry("../" * 40 + "outside/sentinel"), format=tarfile.GNU_FORMAT),
        r"'\.\.'",
    ),
    Hostile(
        "nul-in-pax-path",
        lambda out: build_tar(file_entry("benign", path="evil\0name")),
        "NUL",
    ),
    Hostile("path-longer-than-path-max", lambda out: build_tar(file_entry("d/" * 2100 + "f")), "longer than 4096"),
    Hostile(
        "absurd-size",
        lambda out: raw_header(b"huge", size_field=b"\x80" + (1 << 62).to_bytes(11, "big")) + bytes(1024),
        "absurd size",
    ),
    Hostile(
        "negative-size",
        lambda out: raw_header(b"negative", size_field=b"\xff" * 12) + bytes(1024),
        "negative size",
    ),
    Hostile("bad-checksum", lambda out: raw_header(b"f", checksum_delta=1) + bytes(1024), "checksum"),
    Hostile("not-a-tar", lambda out: b"<html>definitely not a tar</html>".ljust(512, b" "), "checksum"),
    Hostile("sparse-entry", lambda out: raw_header(b"sparse", typeflag=b"S") + bytes(1024), "sparse"),
    Hostile(
        "truncated-in-data",
        lambda out: truncated(build_tar(file_entry("f", b"x" * 5000)), 512 + 1000),
        "truncated",
    ),
    Hostile(
        "truncated-without-end-marker",
        lambda out: build_tar(file_entry("f", b"x" * 10))[: 2 * 512],
        "truncated",
    ),
]


@pytest.fixture
def outside(tmp_path) -> Path:
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "sentinel").write_bytes(SENTINEL_CONTENT)
    os.utime(directory / "sentinel", (1_000_000_000, 1_000_000_000))
    return directory


def state_of(directory: Path) -> dict:
    return {
        path.name: (path.lstat().st_mode, path.lstat().st_mtime_ns, path.read_bytes() if path.is_file() else None)
        for path in directory.iterdir()
    }


def test_the_hostile_suite_has_at_least_twelve_archives():
    assert len(HOSTILE) >= 12
    assert len({case.name for case in HOSTILE}) == len(HOSTILE)


@requires_root
@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_a_hostile_archive_is_refused_or_contained(case: Hostile, tmp_path, outside):
    before = state_of(outside)
    target = tmp_path / "target"
    target.mkdir()
    archive = io.BytesIO(case.build(outside))
    if case.refusal is None:
        apply_layer(archive, target, whiteout_mode=case.whiteout_mode)
    else:
        with pytest.raises(UnsafeArchiveError, match=case.refusal):
            apply_layer(archive, target, whiteout_mode=case.whiteout_mode)
    assert state_of(outside) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["outside", "target"]


@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_import_refuses_the_same_hostile_archives_and_stores_nothing(case: Hostile, storage_root, outside):
    store = ContentStore(storage_root)
    archive = io.BytesIO(case.build(outside))
    if case.refusal is None:
        store_layer_from_tar(store, archive)
        return
    with pytest.raises(UnsafeArchiveError, match=case.refusal):
        store_layer_from_tar(store, archive)
    assert list(store.walk()) == []
    assert list(store.stale_ingests()) == []


@requires_root
def test_an_absolute_path_lands_inside_the_target(tmp_path, outside):
    target = tmp_path / "target"
    target.mkdir()
    apply_layer(io.BytesIO(build_tar(file_entry(str(outside / "sentinel")))), target)
    assert (target / str(outside / "sentinel").lstrip("/")).read_bytes() == b"pwned\n"


@requires_root
def test_a_file_replacing_a_symlink_is_written_as_a_file_not_through_the_link(tmp_path, outside):
    target = tmp_path / "target"
    target.mkdir()
    tar = build_tar(symlink_entry("f", str(outside / "sentinel")), file_entry("f", b"replaced\n"))
    apply_layer(io.BytesIO(tar), target)
    assert not (target / "f").is_symlink()
    assert (target / "f").read_bytes() == b"replaced\n"


@requires_root
def test_a_symlink_from_a_lower_layer_is_not_followed_when_writing(tmp_path, outside):
    target = tmp_path / "target"
    target.mkdir()
    os.symlink(outside, target / "s")  # as a flattened lower layer would have it
    with pytest.raises(UnsafeArchiveError, match="symlink or not a directory"):
        apply_layer(io.BytesIO(build_tar(file_entry("s/sentinel"))), target, whiteout_mode="delete")
    assert (outside / "sentinel").read_bytes() == SENTINEL_CONTENT


@requires_root
def test_a_whiteout_below_a_lower_layers_symlink_deletes_nothing(tmp_path, outside):
    target = tmp_path / "target"
    target.mkdir()
    os.symlink(outside, target / "s")
    apply_layer(io.BytesIO(build_tar(file_entry("s/.wh.sentinel"))), target, whiteout_mode="delete")
    assert (outside / "sentinel").read_bytes() == SENTINEL_CONTENT
    assert (target / "s").is_symlink()
