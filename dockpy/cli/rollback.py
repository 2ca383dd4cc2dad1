"""``dockpy rollback NAME[:TAG] [--to REV]`` or ``dockpy rollback CONTAINER``.

For a tag: point it at an earlier revision's image, as a new revision. For a
container (a name or id of an existing container, when ``--to`` is not
given): discard its uncommitted changes.
"""

from __future__ import annotations

import argparse

from dockpy.cli.humanize import short_id


def register(commands) -> None:
    parser = commands.add_parser("rollback", help="point a tag at an earlier revision, or discard a container's changes")
    parser.add_argument("name_tag", metavar="NAME[:TAG]|CONTAINER")
    parser.add_argument("--to", type=_revision_number, metavar="REV", help="revision number (default: the previous)")
    parser.add_argument("-m", "--message", default="", help="why (recorded in the revision)")
    parser.add_argument("-a", "--author", help="who (default: $DOCKPY_AUTHOR or the login name)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    if args.to is None and _is_container(args.name_tag):
        from dockpy.root import StorageRoot
        from dockpy.runtime.containers import ContainerStore
        from dockpy.runtime.versioning import rollback_container

        rollback_container(ContainerStore(StorageRoot.default()), args.name_tag)
        print(args.name_tag)
        return 0
    from dockpy.image.refs import Refs

    with Refs() as store:
        revision = store.rollback(args.name_tag, args.to, author=args.author, message=args.message)
    print(f"{revision.reference}: {short_id(revision.image_id)} ({revision.message or revision.operation})")
    return 0


def _is_container(reference: str) -> bool:
    from dockpy.errors import NotFoundError
    from dockpy.runtime.containers import ContainerStore
    from dockpy.root import StorageRoot

    try:
        ContainerStore(StorageRoot.default()).get(reference)
    except NotFoundError:
        return False
    return True


def _revision_number(text: str) -> int:
    number = text.removeprefix("@")
    if not (number.isdecimal() and number.isascii() and int(number) >= 1):
        raise argparse.ArgumentTypeError(f"invalid revision {text!r}: want a number from 1")
    return int(number)
