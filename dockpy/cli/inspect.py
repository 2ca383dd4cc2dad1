"""``dockpy inspect IMAGE...``: the images' details as a JSON array, like ``docker image inspect``."""

from __future__ import annotations

from dockpy.cli.output import print_json


def register(commands) -> None:
    parser = commands.add_parser("inspect", help="show images' details as JSON")
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.image.inspection import describe_image
    from dockpy.image.store import ImageStore

    with ImageStore() as store:
        documents = [describe_image(store, reference) for reference in args.images]
    print_json(documents)
    return 0
