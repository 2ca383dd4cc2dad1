"""Read tar entries from a stream, refusing malformed and oversize headers.

A layer tar comes from anywhere (a registry, ``dockpy load``, ``import``), so
this reader trusts nothing: every header's checksum is verified, numbers must
be well-formed and sane, extended headers (PAX ``x``/``g``, GNU ``L``/``K``)
are capped at ``MAX_METADATA_SIZE``, entry sizes at ``MAX_ENTRY_SIZE``, and an
archive that ends before its end-of-archive marker is reported as truncated
instead of being taken as complete. It reads POSIX ustar/PAX and GNU tar
archives; sparse and multi-volume entries are refused.

It only parses: which names are safe to write is ``tarcheck``'s job, and
writing them ``tarapply``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from dockpy.errors import UnsafeArchiveError
from dockpy.layers.tarformat import (
    BLOCK_DEVICE,
    BLOCK_SIZE,
    CHAR_DEVICE,
    DIRECTORY,
    FIFO,
    GNU_LONG_LINK,
    GNU_LONG_NAME,
    GNU_VOLUME_LABEL,
    HARDLINK,
    PAX_EXTENDED,
    PAX_GLOBAL,
    PAX_XATTR_PREFIX,
    SYMLINK,
    USTAR_MAGIC,
    padding,
)

# Go's archive/tar caps PAX and GNU long-name entries at 1 MiB too.
MAX_METADATA_SIZE = 1 << 20
# No layer holds a single file of a terabyte; a size beyond this is an attack or garbage.
MAX_ENTRY_SIZE = 1 << 40
COPY_CHUNK = 1 << 20
_ZERO_BLOCK = bytes(BLOCK_SIZE)
_METADATA_TYPES = (PAX_EXTENDED, PAX_GLOBAL, GNU_LONG_NAME, GNU_LONG_LINK, GNU_VOLUME_LABEL)
_HEADER_ONLY_TYPES = (HARDLINK, SYMLINK, CHAR_DEVICE, BLOCK_DEVICE, DIRECTORY, FIFO)
_NANOSECONDS = 1_000_000_000


@dataclass(slots=True)
class TarEntry:
    """One entry's header, with PAX and GNU extensions already applied. Names are raw bytes."""

    name: bytes
    typeflag: bytes
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    size: int = 0
    mtime_ns: int = 0
    linkname: bytes = b""
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)

    @property
    def shown_name(self) -> str:
        """The name for error messages: decoded, control characters escaped."""
        return repr(self.name.decode(errors="replace"))[1:-1]


# What an error names as the place before the first header.
ARCHIVE_START = "the start of the archive"


class TarReader:
    """Iterate a tar stream's entries; read each entry's data before asking for the next.

    Data not read by the consumer is skipped. After the entries, ``drain`` reads
    whatever follows the end-of-archive marker (so a digest over the stream
    covers every byte of it).
    """

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._remaining = 0  # data bytes of the current entry not yet read
        self._padding = 0
        self._global: dict[bytes, bytes] = {}
        self._last_name = ARCHIVE_START

    def __iter__(self) -> Iterator[TarEntry]:
        while True:
            self._skip_rest_of_entry()
            entry = self._next_entry()
            if entry is None:
                return
            self._last_name = entry.shown_name
            self._remaining = entry.size
            self._padding = padding(entry.size)
            yield entry

    def read_data(self, size: int) -> bytes:
        """Up to ``size`` bytes of the current entry's data; b"" at its end."""
        size = min(size, self._remaining)
        data = self._read_exactly(size)
        self._remaining -= size
        return data

    def drain(self) -> None:
        """Read (and discard) everything after the end-of-archive marker."""
        while self._stream.read(COPY_CHUNK):
            pass

    def _next_entry(self) -> TarEntry | None:
        """The next file's entry, its extended headers applied; None at the end of the archive."""
        found = self._next_header()
        if found is None:
            return None
        entry, records = found
        _apply_pax({**self._global, **records}, entry)
        if entry.typeflag in _HEADER_ONLY_TYPES:
            entry.size = 0  # whatever the header says, no data follows (as Go's archive/tar reads it)
        if not 0 <= entry.size <= MAX_ENTRY_SIZE:
            raise UnsafeArchiveError(f"tar entry {entry.shown_name} declares an absurd size of {entry.size} bytes")
        return entry

    def _next_header(self) -> tuple[TarEntry, dict[bytes, bytes]] | None:
        """The next file's header, and the records of the extended headers before it.

        GNU long names become ``path``/``linkpath`` records, as in PAX;
        a GNU volume label names the archive, not a file, and is skipped.
        """
        records: dict[bytes, bytes] = {}
        while True:
            block = self._read_block()
            if block == _ZERO_BLOCK:
                return None
            header = _parse_header(block, self._last_name)
            if header.typeflag not in _METADATA_TYPES:
                return header, records
            data = self._read_metadata(header)
            if header.typeflag == PAX_EXTENDED:
                records.update(_parse_pax(data, self._last_name))
            elif header.typeflag == PAX_GLOBAL:
                self._global.update(_parse_pax(data, self._last_name))
            elif header.typeflag in (GNU_LONG_NAME, GNU_LONG_LINK):
                key = b"path" if header.typeflag == GNU_LONG_NAME else b"linkpath"
                records[key] = data.split(b"\0", 1)[0]

    def _read_metadata(self, header: TarEntry) -> bytes:
        if header.size > MAX_METADATA_SIZE:
            raise UnsafeArchiveError(
                f"tar extended header after {self._last_name} is {header.size} bytes "
                f"(more than the {MAX_METADATA_SIZE} allowed)"
            )
        data = self._read_exactly(header.size)
        self._read_exactly(padding(header.size))
        return data

    def _read_block(self) -> bytes:
        block = self._stream.read(BLOCK_SIZE)
        if len(block) == BLOCK_SIZE:
            return block
        if not block:
            raise UnsafeArchiveError(f"tar archive is truncated: it ends after {self._last_name} without an end-of-archive marker")
        return block + self._read_exactly(BLOCK_SIZE - len(block))

    def _read_exactly(self, size: int) -> bytes:
        data = self._stream.read(size)
        if len(data) == size:
            return data
        parts = [data]
        missing = size - len(data)
        while missing:
            part = self._stream.read(missing)
            if not part:
                raise UnsafeArchiveError(f"tar archive is truncated in {self._last_name} ({missing} bytes missing)")
            parts.append(part)
            missing -= len(part)
        return b"".join(parts)

    def _skip_rest_of_entry(self) -> None:
        while self._remaining:
            self.read_data(COPY_CHUNK)
        if self._padding:
            self._read_exactly(self._padding)
            self._padding = 0


def _parse_header(block: bytes, previous: str) -> TarEntry:
    """Decode one 512-byte header block (checksum verified)."""
    _verify_checksum(block, previous)
    name = _string(block[0:100])
    if block[257:265] == USTAR_MAGIC or block[257:263] == b"ustar\0":
        prefix = _string(block[345:500])  # GNU tar's headers use this space for other things
        if prefix:
            name = prefix + b"/" + name
    shown = repr(name.decode(errors="replace"))[1:-1]
    return TarEntry(
        name=name,
        typeflag=block[156:157],
        mode=_number(block[100:108], "mode", shown) & 0o7777,
        uid=_number(block[108:116], "uid", shown),
        gid=_number(block[116:124], "gid", shown),
        size=_number(block[124:136], "size", shown),
        mtime_ns=_number(block[136:148], "mtime", shown) * _NANOSECONDS,
        linkname=_string(block[157:257]),
        devmajor=_number(block[329:337], "devmajor", shown),
        devminor=_number(block[337:345], "devminor", shown),
    )


def _verify_checksum(block: bytes, previous: str) -> None:
    stored = block[148:156]
    try:
        expected = int(stored.split(b"\0", 1)[0].strip(b" ") or b"-1", 8)
    except ValueError:
        expected = -1
    unsigned = sum(block[:148]) + 8 * ord(" ") + sum(block[156:])
    if expected == unsigned:
        return
    # Some old tars summed signed chars; accept that too, as GNU tar does.
    signed = unsigned - 256 * sum(1 for byte in block[:148] + block[156:] if byte >= 128)
    if expected == signed:
        return
    if previous == ARCHIVE_START:
        # The first block is no tar header at all: a file of another kind, not a damaged archive.
        raise UnsafeArchiveError("not a tar archive: its first 512 bytes are no tar header (bad checksum)")
    raise UnsafeArchiveError(f"tar header after {previous} is corrupt (bad checksum)")


def _string(field: bytes) -> bytes:
    return field.split(b"\0", 1)[0]


def _number(field: bytes, what: str, name: str) -> int:
    """An octal field, or GNU's base-256 form (high bit of the first byte set)."""
    if field[0] & 0x80:
        if field[0] == 0xFF:
            raise UnsafeArchiveError(f"tar entry {name} has a negative {what}")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    digits = field.split(b"\0", 1)[0].strip(b" ")
    if not digits:
        return 0
    try:
        return int(digits, 8)
    except ValueError:
        raise UnsafeArchiveError(f"tar entry {name} has a malformed {what} field {digits!r}") from None


def _parse_pax(data: bytes, previous: str) -> dict[bytes, bytes]:
    """PAX records ``"<length> <key>=<value>\\n"``; an empty value unsets the key."""
    records: dict[bytes, bytes] = {}
    position = 0
    while position < len(data):
        space = data.find(b" ", position, position + 20)
        length_text = data[position:space] if space > 0 else b""
        if not length_text.isdigit():
            raise UnsafeArchiveError(f"tar PAX header after {previous} is malformed")
        end = position + int(length_text)
        record = data[space + 1 : end]
        if end > len(data) or not record.endswith(b"\n") or b"=" not in record:
            raise UnsafeArchiveError(f"tar PAX header after {previous} is malformed")
        key, _, value = record[:-1].partition(b"=")
        records[key] = value
        position = end
    return records


def _apply_pax(records: dict[bytes, bytes], entry: TarEntry) -> None:
    """Let PAX records override the ustar fields, and collect the xattrs."""
    for key, value in records.items():
        if key.startswith(PAX_XATTR_PREFIX):
            if value:
                entry.xattrs[key[len(PAX_XATTR_PREFIX) :].decode(errors="surrogateescape")] = value
        elif key.startswith(b"GNU.sparse."):
            raise UnsafeArchiveError(f"tar entry {entry.shown_name} is a sparse file, which layers do not support")
        elif key in (b"path", b"linkpath") and value:
            if b"\0" in value:
                raise UnsafeArchiveError(f"tar entry {entry.shown_name} has a NUL byte in its {key.decode()}")
            setattr(entry, "name" if key == b"path" else "linkname", value)
        elif key in (b"size", b"uid", b"gid") and value:
            setattr(entry, key.decode(), _pax_integer(value, key, entry))
        elif key == b"mtime" and value:
            entry.mtime_ns = _pax_time(value, entry)


def _pax_integer(value: bytes, key: bytes, entry: TarEntry) -> int:
    if not value.isdigit() or len(value) > 20:
        raise UnsafeArchiveError(f"tar entry {entry.shown_name} has a malformed PAX {key.decode()} {value[:40]!r}")
    return int(value)


def _pax_time(value: bytes, entry: TarEntry) -> int:
    """``[-]seconds[.fraction]`` to nanoseconds, exactly."""
    negative = value.startswith(b"-")
    seconds, _, fraction = value.lstrip(b"-").partition(b".")
    if not seconds.isdigit() or len(seconds) > 15 or (fraction and not fraction.isdigit()):
        raise UnsafeArchiveError(f"tar entry {entry.shown_name} has a malformed PAX mtime {value[:40]!r}")
    nanoseconds = int(seconds) * _NANOSECONDS + int((fraction[:9] or b"0").ljust(9, b"0"))
    return -nanoseconds if negative else nanoseconds
