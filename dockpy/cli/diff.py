"""``dockpy diff IMAGE IMAGE``: A/C/D lines from the first image (or revision) to the second."""

from __future__ import annotations

from dockpy.cli.output import add_format_option, print_json


def register(commands) -> None:
    parser = commands.add_parser("diff", help="show the changes between two images or revisions")
    parser.add_argument("old", metavar="IMAGE", help="e.g. app:latest@1")
    parser.add_argument("new", metavar="IMAGE", help="e.g. app:latest")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.image.image_diff import diff_images
    from dockpy.image.store import ImageStore

    with ImageStore() as store:
        changes = diff_images(store, args.old, args.new)
    if args.format == "json":
        print_json([{"Kind": change.kind, "Path": change.path} for change in changes])
    else:
        for change in changes:
            print(change)
    return 0
