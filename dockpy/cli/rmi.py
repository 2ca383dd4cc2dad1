"""``dockpy rmi IMAGE...``: remove tags (with their history), then the images only they kept."""

from __future__ import annotations

import sys


def register(commands) -> None:
    parser = commands.add_parser("rmi", help="remove tags, and the images nothing else keeps")
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("-f", "--force", action="store_true", help="remove every tag of the image, even if in use")
    parser.add_argument("--no-prune", action="store_true", help="untag only; leave deleting to 'dockpy gc'")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.errors import ConflictError
    from dockpy.image.gc import collect_garbage
    from dockpy.image.store import ImageStore

    with ImageStore() as store:
        orphans = set()
        for reference in args.images:
            removal = store.remove_image(reference, force=args.force)
            for name_tag in removal.untagged:
                print(f"Untagged: {name_tag}")
            orphans |= removal.manifests
        if args.no_prune or not orphans:
            return 0
        try:
            report = collect_garbage(store, only_images=orphans, wait=False)
        except ConflictError:
            print("dockpy: note: another dockpy process is writing; 'dockpy gc' will free the space", file=sys.stderr)
            return 0
    for image_id in report.image_ids:
        print(f"Deleted: {image_id}")
    return 0
