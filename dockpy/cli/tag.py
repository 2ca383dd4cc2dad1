"""``dockpy tag SOURCE TARGET``: a new revision of TARGET pointing at SOURCE's image."""

from __future__ import annotations


def register(commands) -> None:
    parser = commands.add_parser("tag", help="point NAME[:TAG] at an image (a new revision)")
    parser.add_argument("source", metavar="SOURCE_IMAGE")
    parser.add_argument("target", metavar="TARGET_NAME[:TAG]")
    parser.add_argument("-m", "--message", default="", help="why (recorded in the revision)")
    parser.add_argument("-a", "--author", help="who (default: $DOCKPY_AUTHOR or the login name)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.image.refs import Refs

    with Refs() as store:
        store.tag(args.source, args.target, author=args.author, message=args.message)
    return 0
