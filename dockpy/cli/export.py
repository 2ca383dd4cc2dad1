"""``dockpy export CONTAINER|IMAGE [-o FILE]``: a root filesystem flattened into one tar.

A container is looked for first, as ``docker export`` knows only containers:
its image's layers with its changes on top. Otherwise an image's layers.
"""

from __future__ import annotations

import sys


def register(commands) -> None:
    parser = commands.add_parser("export", help="write a container's or an image's root filesystem as a tar")
    parser.add_argument("source", metavar="CONTAINER|IMAGE")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: standard output)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.image.rootfs_archive import atomic_output

    write = _container_writer(args.source) or _image_writer(args.source)
    if args.output and args.output != "-":
        with atomic_output(args.output) as out:
            write(out)
    else:
        write(_standard_output_for_a_tar())
    return 0


def _container_writer(reference: str):
    """What writes the container ``reference`` names, or None when no container has that name or id."""
    from dockpy.errors import NotFoundError
    from dockpy.root import StorageRoot
    from dockpy.runtime.containers import ContainerStore
    from dockpy.runtime.versioning import export_container

    containers = ContainerStore(StorageRoot.default())
    try:
        containers.get(reference)
    except NotFoundError:
        return None
    return lambda out: export_container(containers, reference, out)


def _image_writer(reference: str):
    """What writes the image ``reference`` names; it is looked up first, so that its error can say no container
    matched either."""
    from dockpy.errors import NotFoundError
    from dockpy.image.rootfs_archive import export_rootfs
    from dockpy.image.store import ImageStore

    with ImageStore() as store:
        try:
            store.resolve(reference)
        except NotFoundError as error:
            raise NotFoundError(error.message, hint=f"No container is named {reference} either.") from None

    def write(out) -> None:
        with ImageStore() as store:
            export_rootfs(store, reference, out)

    return write


def _standard_output_for_a_tar():
    from dockpy.errors import InvalidInputError

    if sys.stdout.isatty():
        raise InvalidInputError("refusing to write a tar to a terminal", hint="use -o FILE or redirect the output")
    sys.stdout.flush()
    return sys.stdout.buffer
