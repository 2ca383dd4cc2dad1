"""``dockpy gc``: delete what no tag revision, container or cache entry reaches."""

from __future__ import annotations

from dockpy.cli.humanize import human_size
from dockpy.cli.output import add_format_option, print_json


def register(commands) -> None:
    parser = commands.add_parser("gc", help="delete unreachable images, blobs, snapshots and temporary files")
    parser.add_argument("-n", "--dry-run", action="store_true", help="only say what would be deleted")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.image.gc import collect_garbage
    from dockpy.image.store import ImageStore

    with ImageStore() as store:
        plan = collect_garbage(store, dry_run=args.dry_run)
    if args.format == "json":
        print_json(plan)
        return 0
    verb = "Would delete" if args.dry_run else "Deleted"
    for image_id in plan.image_ids:
        print(f"{verb}: {image_id}")
    print(f"{verb} {len(plan.blobs)} blobs, {len(plan.snapshots)} snapshots, {len(plan.temp_files)} temporary files")
    print(f"Total reclaimed space: {human_size(plan.reclaimed_bytes)}")
    return 0
