"""``dockpy images [REPOSITORY[:TAG]]``: each tag's current image, then untagged ones."""

from __future__ import annotations

from dockpy.cli.humanize import human_age, human_size, short_id
from dockpy.cli.output import add_format_option, print_json, print_table


def register(commands) -> None:
    parser = commands.add_parser("images", help="list images (each tag's current revision)")
    parser.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]", help="only this repository or tag")
    parser.add_argument("-q", "--quiet", action="store_true", help="only show image ids")
    parser.add_argument("--no-trunc", action="store_true", help="show full image ids")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.image.refs import Refs

    with Refs() as store:
        summaries = store.images(args.reference)
    if args.format == "json":
        print_json([summary.to_json() for summary in summaries])
    elif args.quiet:
        for image_id in dict.fromkeys(short_id(s.image_id, args.no_trunc) for s in summaries):
            print(image_id)
    else:
        rows = [
            (s.repository or "<none>", s.tag or "<none>", s.revision or "-", short_id(s.image_id, args.no_trunc),
             human_age(s.created), human_size(s.size))
            for s in summaries
        ]
        print_table(("REPOSITORY", "TAG", "REV", "IMAGE ID", "CREATED", "SIZE"), rows)
    return 0
