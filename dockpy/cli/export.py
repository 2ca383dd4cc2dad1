"""``dockpy export IMAGE -o FILE``: an image's layers flattened into one root filesystem tar."""

from __future__ import annotations

import contextlib
import sys


def register(commands) -> None:
    parser = commands.add_parser("export", help="write an image's root filesystem as a tar")
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: standard output)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.image.rootfs_archive import atomic_output, export_rootfs
    from dockpy.image.store import ImageStore

    with _output(args.output, atomic_output) as out, ImageStore() as store:
        export_rootfs(store, args.image, out)
    return 0


def _output(path: str | None, atomic_output):
    from dockpy.errors import InvalidInputError

    if path is not None and path != "-":
        return atomic_output(path)
    if sys.stdout.isatty():
        raise InvalidInputError("refusing to write a tar to a terminal", hint="use -o FILE or redirect the output")
    sys.stdout.flush()
    return contextlib.nullcontext(sys.stdout.buffer)
