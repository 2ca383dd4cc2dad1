"""``dockpy system df``: disk used by the store, and what gc would reclaim."""

from __future__ import annotations

from dockpy.cli.humanize import human_size
from dockpy.cli.output import add_format_option, print_json, print_table


def register(commands) -> None:
    parser = commands.add_parser("system", help="manage the storage root")
    verbs = parser.add_subparsers(dest="system_command", metavar="COMMAND")
    verbs.required = True
    df = verbs.add_parser(
        "df", help="show disk usage",
        description="Show disk usage per kind. RECLAIMABLE is what 'dockpy gc' frees, except on the Build Cache "
                    "row (layers only the build cache keeps): 'dockpy builder prune' frees those.")
    add_format_option(df)
    df.set_defaults(handler=run_df)


def run_df(args) -> int:
    from dockpy.image.disk_usage import disk_usage
    from dockpy.image.store import ImageStore

    with ImageStore() as store:
        lines = disk_usage(store)
    if args.format == "json":
        print_json([line.to_json() for line in lines])
        return 0
    rows = [(line.kind, line.total, line.active, human_size(line.size), _reclaimable(line)) for line in lines]
    print_table(("TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"), rows)
    return 0


def _reclaimable(line) -> str:
    percent = f" ({100 * line.reclaimable // line.size}%)" if line.size else ""
    return human_size(line.reclaimable) + percent
