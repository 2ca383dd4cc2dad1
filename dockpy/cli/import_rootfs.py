"""``dockpy import FILE|- [NAME[:TAG]]``: a rootfs tar becomes a one-layer image, like ``docker import``."""

from __future__ import annotations

import sys


def register(commands) -> None:
    parser = commands.add_parser("import", help="make a one-layer image of a root filesystem tar")
    parser.add_argument("file", metavar="FILE|-", help="tar (plain, gzip or zstd); '-' reads standard input")
    parser.add_argument("name_tag", nargs="?", metavar="NAME[:TAG]", help="tag to add a revision to")
    parser.add_argument("-m", "--message", default="", help="commit message for the imported image")
    parser.add_argument("-a", "--author", help="who (default: $DOCKPY_AUTHOR or the login name)")
    parser.add_argument("--compression", choices=("zstd", "gzip"), default="zstd", help="layer compression")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.errors import naming_the_archive
    from dockpy.image.rootfs_archive import import_rootfs
    from dockpy.image.store import ImageStore
    from dockpy.layers.compression import Compression

    named = None if args.file == "-" else args.file
    with _open_input(args.file) as tar, naming_the_archive(named), ImageStore() as store:
        image, _ = import_rootfs(store, tar, args.name_tag, source=args.file, message=args.message,
                                 author=args.author, compression=Compression(args.compression))
    print(image.id)
    return 0


def _open_input(path: str):
    from dockpy.errors import InvalidInputError

    if path == "-":
        return open(sys.stdin.fileno(), "rb", closefd=False)
    try:
        return open(path, "rb")
    except OSError as error:
        raise InvalidInputError(f"open {path}: {error.strerror}") from error
