"""``dockpy history IMAGE``: how each layer of an image was made, like ``docker history``."""

from __future__ import annotations

from dockpy.cli.humanize import CREATED_BY_WIDTH, ellipsize, human_age, human_size, short_id
from dockpy.cli.output import add_format_option, print_json, print_table


def register(commands) -> None:
    parser = commands.add_parser("history", help="show the history of an image's layers")
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("--no-trunc", action="store_true", help="do not cut ids and commands")
    parser.add_argument("-q", "--quiet", action="store_true", help="only show image ids")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.image.refs import Refs

    with Refs() as refs:
        rows = refs.history(args.image)
    if args.format == "json":
        print_json([row.to_json() for row in rows])
    elif args.quiet:
        for row in rows:
            print(short_id(row.image_id, args.no_trunc) if row.image_id else "<missing>")
    else:
        table = [
            (short_id(row.image_id, args.no_trunc) if row.image_id else "<missing>", human_age(row.created),
             ellipsize(row.created_by, CREATED_BY_WIDTH, args.no_trunc), human_size(row.size), row.comment)
            for row in rows
        ]
        print_table(("IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"), table)
    return 0
