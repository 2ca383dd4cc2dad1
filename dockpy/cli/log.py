"""``dockpy log NAME[:TAG]``: a tag's revisions, newest first."""

from __future__ import annotations

from dockpy.cli.humanize import human_age, short_id
from dockpy.cli.output import add_format_option, print_json, print_table


def register(commands) -> None:
    parser = commands.add_parser("log", help="show the revision history of a tag")
    parser.add_argument("name_tag", metavar="NAME[:TAG]")
    parser.add_argument("--no-trunc", action="store_true", help="show full image ids")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.image.refs import Refs

    with Refs() as store:
        history = store.log(args.name_tag)
    if args.format == "json":
        print_json([revision.to_json() for revision in history])
        return 0
    rows = [
        (revision.number, short_id(revision.image_id, args.no_trunc), human_age(revision.time), revision.author,
         revision.operation, revision.message)
        for revision in history
    ]
    print_table(("REV", "IMAGE ID", "CREATED", "AUTHOR", "OPERATION", "MESSAGE"), rows)
    return 0
