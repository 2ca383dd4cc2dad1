"""``dockpy images [REPOSITORY[:TAG]]``: each tag's current image, then untagged ones."""

from __future__ import annotations

from dockpy.cli.humanize import human_age, human_size, short_id
from dockpy.cli.output import add_format_option, print_json, print_table


def register(commands) -> None:
    parser = commands.add_parser("images", help="list images (each tag's current revision)")
    parser.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]", help="only this repository or tag")
    parser.add_argument("-a", "--all", action="store_true",
                        help="also show images only earlier revisions of tags name (dockpy has no intermediate images)")
    parser.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="only images that match (dangling=true|false, reference=GLOB, label=KEY[=VALUE], "
                             "before=IMAGE, since=IMAGE); repeat the flag for more")
    parser.add_argument("-q", "--quiet", action="store_true", help="only show image ids")
    parser.add_argument("--no-trunc", action="store_true", help="show full image ids")
    add_format_option(parser, templates=True)
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.image.refs import Refs

    with Refs() as store:
        summaries = selected_images(store, args)
    if args.format == "json":
        print_json([summary.to_json() for summary in summaries])
    elif args.quiet:
        for image_id in dict.fromkeys(short_id(s.image_id, args.no_trunc) for s in summaries):
            print(image_id)
    elif args.format != "table":
        from dockpy.cli.row_template import print_rows

        print_rows(args.format, summaries, image_fields(args.no_trunc), "image", IMAGE_HEADERS)
    else:
        rows = [
            (s.repository or "<none>", s.tag or "<none>", s.revision or "-", short_id(s.image_id, args.no_trunc),
             human_age(s.created), human_size(s.size))
            for s in summaries
        ]
        print_table(("REPOSITORY", "TAG", "REV", "IMAGE ID", "CREATED", "SIZE"), rows)
    return 0


# ``table TEMPLATE``'s column names that are not the field's name in capitals.
IMAGE_HEADERS = {"ID": "IMAGE ID", "CreatedAt": "CREATED AT", "CreatedSince": "CREATED"}


def image_fields(no_trunc: bool) -> dict:
    """``images --format TEMPLATE``'s fields, as Docker names and shows them, each a function of an ``ImageSummary``."""
    from dockpy.cli.humanize import go_time_text

    return {
        "ID": lambda s: short_id(s.image_id, no_trunc),
        "Repository": lambda s: s.repository or "<none>",
        "Tag": lambda s: s.tag or "<none>",
        "Digest": lambda s: s.manifest_digest or "<none>",
        "CreatedAt": lambda s: go_time_text(s.created),
        "CreatedSince": lambda s: human_age(s.created),
        "Size": lambda s: human_size(s.size),
    }


def selected_images(store, args) -> list:
    """The rows ``images`` lists: tags' current images and untagged ones (earlier revisions' too with ``-a``
    or ``-f dangling=true``), those the filters keep."""
    keep, wants_dangling = _no_filter, False
    if args.filter:
        from dockpy.cli.image_filters import image_filter

        keep, wants_dangling = image_filter(store, args.filter)
    summaries = store.images(args.reference, earlier_revisions=args.all or wants_dangling)
    return [summary for summary in summaries if keep(summary)]


def _no_filter(summary) -> bool:
    return True
