"""``dockpy commit [-m] [-a] [-c INSTR]... CONTAINER [NAME[:TAG]]``: a container's changes become an image."""

from __future__ import annotations


def register(commands) -> None:
    parser = commands.add_parser("commit", help="make a new image (and revision) of a container's changes")
    parser.add_argument("-m", "--message", default="", help="commit message (recorded in the revision and history)")
    parser.add_argument("-a", "--author", help="who (default: $DOCKPY_AUTHOR or the login name)")
    parser.add_argument("-c", "--change", action="append", default=[], metavar="INSTR",
                        help="Dockerfile instruction to apply to the config (CMD, ENV, LABEL, ...)")
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("name_tag", nargs="?", metavar="NAME[:TAG]", help="tag to add a revision to")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.root import StorageRoot
    from dockpy.runtime.containers import ContainerStore
    from dockpy.runtime.versioning import commit_container

    image = commit_container(ContainerStore(StorageRoot.default()), args.container, args.name_tag, message=args.message,
                             author=args.author, changes=tuple(args.change))
    print(image.id)
    return 0
