"""``dockpy inspect [-f TEMPLATE] NAME...``: containers' or images' details as a JSON array, like ``docker inspect``.

Each name is looked up as a container first (id, id prefix or name), then as
an image, as Docker does. With ``--format``, each object prints the Go
template rendered against its document, then a newline (see ``go_template``);
all are rendered before the first prints, so a failing template prints nothing.
"""

from __future__ import annotations

from dockpy.cli.output import print_json


def register(commands) -> None:
    parser = commands.add_parser("inspect", help="show containers' or images' details as JSON")
    parser.add_argument("-f", "--format", metavar="TEMPLATE",
                        help="print each object through a Go template: {{.State.Status}}, {{json .Config}}")
    parser.add_argument("objects", nargs="+", metavar="CONTAINER|IMAGE")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from dockpy.image.store import ImageStore
    from dockpy.runtime.lifecycle import Runtime

    template = _compiled(args.format)  # a bad template fails before any lookup
    runtime = Runtime()
    with ImageStore() as store:
        documents = [_describe(runtime, store, reference) for reference in args.objects]
    if template is None:
        print_json(documents)
    else:
        print("\n".join(template.render(document) for document in documents))
    return 0


def _compiled(text: str | None):
    if text is None:
        return None
    from dockpy.cli.go_template import GoTemplate

    return GoTemplate(text)


def _describe(runtime, store, reference: str) -> dict:
    from dockpy.errors import NotFoundError
    from dockpy.image.inspection import describe_image

    try:
        return runtime.inspect(reference)
    except NotFoundError:
        return describe_image(store, reference)
