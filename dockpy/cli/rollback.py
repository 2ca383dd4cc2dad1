"""``dockpy rollback NAME[:TAG] [--to REV]``: point a tag at an earlier revision's image, as a new revision."""

from __future__ import annotations

import argparse

from dockpy.cli.humanize import short_id


def register(commands) -> None:
    parser = commands.add_parser("rollback", help="point a tag at an earlier revision (itself a new revision)")
    parser.add_argument("name_tag", metavar="NAME[:TAG]")
    parser.add_argument("--to", type=_revision_number, metavar="REV", help="revision number (default: the previous)")
    parser.add_argument("-m", "--message", default="", help="why (recorded in the revision)")
    parser.add_argument("-a", "--author", help="who (default: $DOCKPY_AUTHOR or the login name)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.image.refs import Refs

    with Refs() as store:
        revision = store.rollback(args.name_tag, args.to, author=args.author, message=args.message)
    print(f"{revision.reference}: {short_id(revision.image_id)} ({revision.message or revision.operation})")
    return 0


def _revision_number(text: str) -> int:
    number = text.removeprefix("@")
    if not (number.isdecimal() and number.isascii() and int(number) >= 1):
        raise argparse.ArgumentTypeError(f"invalid revision {text!r}: want a number from 1")
    return int(number)
