"""``dockpy diff CONTAINER`` or ``dockpy diff IMAGE IMAGE``: A/C/D lines, docker diff's rules.

One argument names a container (its changes against its image); two name
images or revisions (the changes from the first to the second).
"""

from __future__ import annotations

from dockpy.cli.output import add_format_option, print_json


def register(commands) -> None:
    parser = commands.add_parser("diff", help="show a container's changes, or those between two images or revisions")
    parser.add_argument("old", metavar="CONTAINER|IMAGE", help="a container, or the first image (e.g. app:latest@1)")
    parser.add_argument("new", nargs="?", metavar="IMAGE", help="the second image (e.g. app:latest)")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    changes = _image_changes(args.old, args.new) if args.new else _container_changes(args.old)
    if args.format == "json":
        print_json([{"Kind": change.kind, "Path": change.path} for change in changes])
    else:
        for change in changes:
            print(change)
    return 0


def _image_changes(old: str, new: str):
    from dockpy.image.image_diff import diff_images
    from dockpy.image.store import ImageStore

    with ImageStore() as store:
        return diff_images(store, old, new)


def _container_changes(container: str):
    from dockpy.errors import NotFoundError
    from dockpy.root import StorageRoot
    from dockpy.runtime.containers import ContainerStore
    from dockpy.runtime.versioning import container_changes

    try:
        return container_changes(ContainerStore(StorageRoot.default()), container)
    except NotFoundError as error:
        raise NotFoundError(error.message, hint=_image_hint(container)) from None


def _image_hint(name: str) -> str | None:
    """When the one name given is an image's, the user most likely meant to compare two images."""
    from dockpy.errors import DockpyError
    from dockpy.image.store import ImageStore

    with ImageStore() as store:
        try:
            store.resolve(name)
        except DockpyError:
            return None
    return f"{name} is an image; to compare images, name two: dockpy diff {name}@1 {name}"
