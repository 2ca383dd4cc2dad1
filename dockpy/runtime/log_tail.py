"""``logs --tail N``: where the last N lines of a container's log begin, found by reading it backwards.

The log of a long-running container may be large; only its end is read, a
block at a time, until enough newlines are found.
"""

from __future__ import annotations

import os

BLOCK_SIZE = 65536


def start_of_last_lines(file, count: int) -> int:
    """Offset in the binary ``file`` where its last ``count`` lines begin: 0 when it has no more, its end for 0.

    A final newline ends the last line rather than starting another; an unfinished last line counts as a line.
    """
    end = file.seek(0, os.SEEK_END)
    if count <= 0 or end == 0:
        return end
    position = end - 1 if _byte_at(file, end - 1) == b"\n" else end
    while position > 0:
        start = max(0, position - BLOCK_SIZE)
        file.seek(start)
        block = file.read(position - start)
        index = len(block)
        while (index := block.rfind(b"\n", 0, index)) >= 0:
            count -= 1
            if count == 0:
                return start + index + 1
        position = start
    return 0


def _byte_at(file, offset: int) -> bytes:
    file.seek(offset)
    return file.read(1)
