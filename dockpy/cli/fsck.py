"""``dockpy fsck``: re-hash every blob and check every image, revision and snapshot."""

from __future__ import annotations

from dockpy.cli.output import add_format_option, print_json


def register(commands) -> None:
    parser = commands.add_parser("fsck", help="verify every blob and every reference in the store")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.errors import IntegrityError
    from dockpy.image.fsck import check_store
    from dockpy.image.store import ImageStore

    with ImageStore() as store:
        report = check_store(store)
    if args.format == "json":
        print_json(report)
    else:
        for problem in report.problems:
            print(problem)
        print(f"checked {report.blobs} blobs, {report.images} images, {report.revisions} revisions, "
              f"{report.snapshots} snapshots; {report.stale_temp_files} unfinished writes for gc")
    if not report.clean:
        raise IntegrityError(f"fsck found {len(report.problems)} problems", hint="see the lines above")
    return 0
