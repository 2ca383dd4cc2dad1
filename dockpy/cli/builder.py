"""``dockpy builder prune``: remove the build cache (``docker builder prune``)."""

from __future__ import annotations

from dockpy.cli.humanize import human_size
from dockpy.cli.output import add_format_option, print_json


def register(commands) -> None:
    parser = commands.add_parser("builder", help="manage the build cache")
    verbs = parser.add_subparsers(dest="builder_command", metavar="COMMAND")
    verbs.required = True
    prune = verbs.add_parser(
        "prune", help="remove the build cache",
        description="Remove the build cache: cache entries, their layers no image uses, and the RUN cache mounts "
                    "(those a running build holds are kept).")
    prune.add_argument("-f", "--force", action="store_true",
                       help="accepted for Docker compatibility: dockpy never asks for confirmation")
    add_format_option(prune)
    prune.set_defaults(handler=run_prune)


def run_prune(args) -> int:
    from dockpy.build.prune import prune_build_cache
    from dockpy.image.store import ImageStore

    with ImageStore() as store:
        report = prune_build_cache(store)
    if args.format == "json":
        print_json(report.to_json())
        return 0
    kept = f" ({report.cache_mounts_in_use} in use, kept)" if report.cache_mounts_in_use else ""
    print(f"Deleted {report.cache_entries} build cache entries and {report.cache_mounts} cache mounts{kept}")
    print(f"Total reclaimed space: {human_size(report.reclaimed_bytes)}")
    return 0
