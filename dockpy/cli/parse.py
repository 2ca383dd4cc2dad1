"""``dockpy parse``: print the syntax tree of a Dockerfile, without building anything."""

from __future__ import annotations

import os
import sys

STDIN_NAME = "<stdin>"


def register(commands) -> None:
    parser = commands.add_parser(
        "parse",
        help="parse a Dockerfile and print its syntax tree",
        description="Parse a Dockerfile as BuildKit does and print the result. Nothing is built or run.",
    )
    parser.add_argument(
        "-f",
        "--file",
        metavar="FILE",
        help="the Dockerfile ('-' reads standard input; default: PATH/Dockerfile)",
    )
    parser.add_argument(
        "--format",
        choices=("moby", "json"),
        default="moby",
        help="moby: BuildKit's AST dump, one line per instruction (default); "
        "json: an array with one object per instruction",
    )
    parser.add_argument(
        "path",
        nargs="?",
        default=".",
        metavar="PATH",
        help="a build context directory holding a Dockerfile, or a Dockerfile (default: .)",
    )
    parser.set_defaults(handler=run_parse)


def run_parse(args) -> int:
    from dockpy.cli.output import print_json
    from dockpy.dockerfile import dump_json, dump_moby, load_dockerfile, parse_dockerfile

    if args.file == "-":
        dockerfile = parse_dockerfile(sys.stdin.buffer.read(), filename=STDIN_NAME)
    else:
        dockerfile = load_dockerfile(args.file or _dockerfile_in(args.path))
    for warning in dockerfile.warnings:
        print(f"dockpy: warning: {warning}", file=sys.stderr)
    if args.format == "json":
        print_json(dump_json(dockerfile))
    else:
        sys.stdout.write(dump_moby(dockerfile))
    return 0


def _dockerfile_in(path: str) -> str:
    """PATH itself if it is a file, else the Dockerfile in that directory (like ``docker build PATH``)."""
    return os.path.normpath(os.path.join(path, "Dockerfile")) if os.path.isdir(path) else path
