"""``dockpy save`` and ``dockpy load``: images to and from OCI layouts and docker archives."""

from __future__ import annotations

import contextlib
import os
import sys


def register(commands) -> None:
    save = commands.add_parser("save", help="write images to an OCI layout or docker archive")
    save.add_argument("images", nargs="+", metavar="IMAGE")
    save.add_argument("-o", "--output", metavar="FILE|DIR/",
                      help="tar file, or a directory (new or empty) for an OCI layout; default: standard output")
    save.add_argument("--format", choices=("oci", "docker"),
                      help="archive layout (default: docker, or oci when the output is a directory)")
    save.add_argument("--compression", choices=("zstd", "gzip"),
                      help="re-compress layers for --format oci (default: as stored)")
    save.set_defaults(handler=run_save)
    load = commands.add_parser("load", help="load images from an OCI layout or docker archive")
    load.add_argument("-i", "--input", metavar="FILE|DIR",
                      help="tar (plain, gzip or zstd) or OCI layout directory; default: standard input")
    load.set_defaults(handler=run_load)


def run_save(args) -> int:
    from dockpy.errors import InvalidInputError
    from dockpy.image.archive import ArchiveFormat, save_images
    from dockpy.image.store import ImageStore
    from dockpy.layers.compression import Compression

    to_directory = args.output not in (None, "-") and (args.output.endswith("/") or os.path.isdir(args.output))
    archive_format = ArchiveFormat(args.format or ("oci" if to_directory else "docker"))
    if to_directory and archive_format is ArchiveFormat.DOCKER:
        raise InvalidInputError("a docker archive is a tar file, not a directory",
                                hint="give -o a file name, or use --format oci for a layout directory")
    compression = Compression(args.compression) if args.compression else None
    with ImageStore() as store, _archive_writer(args.output, to_directory) as writer:
        save_images(store, args.images, writer, archive_format=archive_format, compression=compression)
    return 0


def run_load(args) -> int:
    from dockpy.image.archive import load_archive
    from dockpy.image.store import ImageStore

    with _archive_source(args.input) as (source, name), ImageStore() as store:
        loaded = load_archive(store, source, source_name=name)
    for item in loaded:
        for tag in item.tags:
            print(f"Loaded image: {tag}")
        if not item.tags:
            print(f"Loaded image ID: {item.image.id}")
    return 0


@contextlib.contextmanager
def _archive_writer(output: str | None, to_directory: bool):
    """A layout directory, an atomically created tar file, or a tar on standard output."""
    from pathlib import Path

    from dockpy.errors import InvalidInputError
    from dockpy.image.archive import DirectoryArchiveWriter, TarArchiveWriter
    from dockpy.image.rootfs_archive import atomic_output

    if to_directory:
        with DirectoryArchiveWriter(Path(output)) as writer:
            yield writer
    elif output not in (None, "-"):
        with atomic_output(output) as out:
            yield TarArchiveWriter(out)
    elif sys.stdout.isatty():
        raise InvalidInputError("refusing to write an archive to a terminal", hint="use -o FILE or redirect the output")
    else:
        sys.stdout.flush()
        yield TarArchiveWriter(sys.stdout.buffer)


@contextlib.contextmanager
def _archive_source(path: str | None):
    """(source, name for messages): a path (file or directory), or standard input.

    A malformed archive read from a path is reported with that path, as Docker does.
    """
    from pathlib import Path

    from dockpy.errors import InvalidInputError, naming_the_archive

    if path not in (None, "-"):
        with naming_the_archive(path):
            yield Path(path), path
    elif sys.stdin.isatty():
        raise InvalidInputError("requested load from standard input, but it is a terminal",
                                hint="use -i FILE or redirect the input")
    else:
        yield open(sys.stdin.fileno(), "rb", closefd=False), "standard input"
