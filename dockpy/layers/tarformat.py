"""The tar format's constants, shared by the layer writer and the reader.

A tar is a sequence of 512-byte header blocks, each followed by the entry's
data padded to a whole block, and ends with two zero blocks. Layer tars use
POSIX.1-2001 (PAX): ustar headers, plus an ``x`` extended header carrying
``key=value`` records for whatever does not fit (long or non-ASCII names, big
numbers, ``SCHILY.xattr.<name>`` extended attributes). GNU tar's own format
(``L``/``K`` long-name entries, base-256 numbers) is read too, never written.
"""

from __future__ import annotations

BLOCK_SIZE = 512
END_OF_ARCHIVE = bytes(2 * BLOCK_SIZE)

# Entry types (the header's typeflag byte).
REGULAR = b"0"
REGULAR_V7 = b"\0"
HARDLINK = b"1"
SYMLINK = b"2"
CHAR_DEVICE = b"3"
BLOCK_DEVICE = b"4"
DIRECTORY = b"5"
FIFO = b"6"
CONTIGUOUS = b"7"  # a regular file on every system that matters
PAX_EXTENDED = b"x"
PAX_GLOBAL = b"g"
GNU_LONG_NAME = b"L"
GNU_LONG_LINK = b"K"
GNU_VOLUME_LABEL = b"V"

USTAR_MAGIC = b"ustar\x0000"  # POSIX magic "ustar\0" and version "00"
GNU_MAGIC = b"ustar  \x00"  # GNU tar's: its headers reuse the ustar prefix field

# The name the PAX extended header entries get; fixed so output is deterministic.
PAX_HEADER_NAME = b"././@PaxHeader"
PAX_XATTR_PREFIX = b"SCHILY.xattr."

# Largest values the octal header fields hold; larger ones go into PAX records.
MAX_OCTAL_7 = 0o7777777  # mode, uid, gid, devmajor, devminor (8-byte fields)
MAX_OCTAL_11 = 0o77777777777  # size and mtime (12-byte fields)
NAME_FIELD_SIZE = 100


def padding(size: int) -> int:
    """Zero bytes that follow ``size`` bytes of data to fill the last block."""
    return -size % BLOCK_SIZE
