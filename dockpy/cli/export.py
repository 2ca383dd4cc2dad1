"""``dockpy export IMAGE [-o FILE]``: an image's layers flattened into one root filesystem tar."""

from __future__ import annotations

import sys


def register(commands) -> None:
    parser = commands.add_parser("export", help="write an image's root filesystem as a tar")
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: standard output)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.image.rootfs_archive import atomic_output, export_rootfs
    from dockpy.image.store import ImageStore

    with ImageStore() as store:
        if args.output and args.output != "-":
            with atomic_output(args.output) as out:
                export_rootfs(store, args.image, out)
        else:
            export_rootfs(store, args.image, _standard_output_for_a_tar())
    return 0


def _standard_output_for_a_tar():
    from dockpy.errors import InvalidInputError

    if sys.stdout.isatty():
        raise InvalidInputError("refusing to write a tar to a terminal", hint="use -o FILE or redirect the output")
    sys.stdout.flush()
    return sys.stdout.buffer
