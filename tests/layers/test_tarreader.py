"""The tar reader: the formats it understands and the extensions it applies."""

from __future__ import annotations

import io
import tarfile

import pytest

from dockpy.errors import UnsafeArchiveError
from dockpy.layers.tarreader import MAX_METADATA_SIZE, TarReader
from tests.layers.layer_trees import build_tar, member


def entries(data: bytes) -> list:
    reader = TarReader(io.BytesIO(data))
    return [(entry, reader.read_data(entry.size)) for entry in reader]


def raw_block(name: bytes, *, size_field: bytes, uid_field: bytes = b"0000000\0", magic=b"ustar  \0") -> bytes:
    block = bytearray(512)
    block[0 : len(name)] = name
    block[100:108] = b"0000644\0"
    block[108:116] = uid_field
    block[116:124] = b"0000000\0"
    block[124:136] = size_field
    block[136:148] = b"00000000000\0"
    block[148:156] = b" " * 8
    block[156:157] = b"0"
    block[257:265] = magic
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


@pytest.mark.parametrize("archive_format", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_long_names_and_links_are_read_in_every_format(archive_format):
    name = "d/" * 60 + "file"  # 124 bytes: GNU L entry, PAX path, or ustar prefix
    link = member("d/" * 60 + "link", tarfile.SYMTYPE, linkname="t" * 99)
    [(file_entry, data), (link_entry, _)] = entries(build_tar((member(name), b"content"), (link, None), format=archive_format))
    assert (file_entry.name, data) == (name.encode(), b"content")
    assert link_entry.linkname == b"t" * 99


def test_gnu_long_link_names_are_read():
    link = member("l", tarfile.SYMTYPE, linkname="t" * 300)
    [(entry, _)] = entries(build_tar((link, None), format=tarfile.GNU_FORMAT))
    assert entry.linkname == b"t" * 300


def test_gnu_base_256_numbers_are_read():
    block = raw_block(b"f", size_field=b"\x80" + (3).to_bytes(11, "big"), uid_field=b"\x80" + (5_000_000).to_bytes(7, "big"))
    [(entry, data)] = entries(block + b"abc".ljust(512, b"\0") + bytes(1024))
    assert (entry.size, entry.uid, data) == (3, 5_000_000, b"abc")


def test_pax_records_override_the_header_fields():
    info = member("short", path="a/much/longer/name", uid="4000000", SCHILY__xattr__user__k="v")
    info.pax_headers["mtime"] = "1700000000.25"
    [(entry, _)] = entries(build_tar((info, b"")))
    assert (entry.name, entry.uid, entry.mtime_ns) == (b"a/much/longer/name", 4_000_000, 1_700_000_000_250_000_000)
    assert entry.xattrs == {"user.k": b"v"}


def test_a_negative_pax_mtime_is_before_1970():
    info = member("old")
    info.pax_headers["mtime"] = "-86400.5"
    [(entry, _)] = entries(build_tar((info, b"")))
    assert entry.mtime_ns == -86_400_500_000_000


def test_global_pax_records_apply_to_every_later_entry():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"uid": "4000001"}) as archive:
        for name in ("a", "b"):
            archive.addfile(member(name), io.BytesIO(b""))
    assert [entry.uid for entry, _ in entries(buffer.getvalue())] == [4_000_001, 4_000_001]


def test_a_gnu_volume_label_is_skipped():
    volume = member("label", b"V")
    assert [entry.name for entry, _ in entries(build_tar((volume, None), (member("f"), b"x"), format=tarfile.GNU_FORMAT))] == [b"f"]


def test_a_size_on_a_header_only_entry_is_ignored_as_go_does():
    link = bytearray(raw_block(b"link", size_field=b"00000001000\0"))
    link[156:157] = b"2"
    link[148:156] = b" " * 8
    link[148:156] = b"%06o\0 " % sum(link)
    after = raw_block(b"next", size_field=b"00000000000\0")
    assert [entry.name for entry, _ in entries(bytes(link) + after + bytes(1024))] == [b"link", b"next"]


def test_unread_data_is_skipped_before_the_next_entry():
    reader = TarReader(io.BytesIO(build_tar((member("a"), b"x" * 3000), (member("b"), b"y"))))
    assert [entry.name for entry in reader] == [b"a", b"b"]


def test_a_header_checksummed_with_signed_bytes_is_accepted():
    block = bytearray(raw_block("caf\u00e9".encode(), size_field=b"00000000000\0"))
    signed = sum(block[:148]) + 256 + sum(block[156:]) - 256 * sum(1 for byte in block if byte >= 128)
    block[148:156] = b"%06o\0 " % signed
    assert [entry.name for entry, _ in entries(bytes(block) + bytes(1024))] == ["caf\u00e9".encode()]


def test_a_file_that_is_no_tar_is_named_so():
    with pytest.raises(UnsafeArchiveError, match="^not a tar archive: its first 512 bytes are no tar header"):
        entries(b"root:x:0:0:root:/root:/bin/sh\n" * 40)


def test_a_bad_header_after_an_entry_names_that_entry():
    data = bytearray(build_tar((member("first"), b""), (member("second"), b"")))
    data[512 + 148] ^= 1  # the second header's checksum field
    with pytest.raises(UnsafeArchiveError, match="^tar header after first is corrupt"):
        entries(bytes(data))


def test_an_extended_header_just_over_the_limit_is_refused():
    info = member("f", comment="x" * MAX_METADATA_SIZE)
    with pytest.raises(UnsafeArchiveError, match="extended header"):
        entries(build_tar((info, b"")))


def test_a_malformed_pax_record_is_refused():
    data = bytearray(build_tar((member("f", comment="ok"), b"")))
    start = data.index(b" comment=ok")
    data[start - 2 : start] = b"99"  # a record length running past the header
    header = bytearray(data[:512])
    header[148:156] = b" " * 8
    data[148:156] = b"%06o\0 " % sum(header)
    with pytest.raises(UnsafeArchiveError, match="PAX header"):
        entries(bytes(data))


def test_a_malformed_octal_field_is_refused():
    block = raw_block(b"f", size_field=b"12x4\0\0\0\0\0\0\0\0")
    with pytest.raises(UnsafeArchiveError, match="malformed size"):
        entries(block + bytes(1024))


def test_an_empty_stream_is_a_truncated_archive():
    with pytest.raises(UnsafeArchiveError, match="truncated"):
        entries(b"")
