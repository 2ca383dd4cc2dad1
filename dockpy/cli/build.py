"""``dockpy build [options] CONTEXT``: build a Dockerfile into an image (DESIGN.md §5).

Argument parsing and rendering only; the work is ``dockpy.build.api.build``.
"""

from __future__ import annotations

import os
import sys

PROGRESS_MODES = ("auto", "plain", "quiet", "tty")


def register(commands) -> None:
    parser = commands.add_parser(
        "build",
        help="build an image from a Dockerfile",
        description="Build the Dockerfile in CONTEXT (or -f FILE) into an image; -t adds a revision to a tag.",
    )
    parser.add_argument("-t", "--tag", action="append", default=[], metavar="NAME[:TAG]",
                        help="tag the image (a new revision of NAME:TAG); may repeat")
    parser.add_argument("-f", "--file", metavar="FILE",
                        help="the Dockerfile (default: CONTEXT/Dockerfile; '-' reads standard input)")
    parser.add_argument("--build-arg", action="append", default=[], metavar="K=V", help="set a build arg; may repeat")
    parser.add_argument("--target", metavar="STAGE", help="build this stage (and what it needs) only")
    parser.add_argument("--platform", metavar="OS/ARCH",
                        help="the platform to build for: only the host's (dockpy does not emulate)")
    parser.add_argument("--no-cache", action="store_true", help="run every step, reusing no cached layer")
    parser.add_argument("--network", choices=("host", "none"), default="host",
                        help="network of RUN steps (default: host)")
    parser.add_argument("--progress", choices=PROGRESS_MODES, default="auto",
                        help="auto: live view on a terminal, plain lines otherwise; quiet: print the image id")
    parser.add_argument("-q", "--quiet", action="store_true", help="same as --progress quiet")
    parser.add_argument("--iidfile", metavar="FILE", help="write the image id to FILE")
    parser.add_argument("--label", action="append", default=[], metavar="K=V", help="add a label to the image")
    parser.add_argument("--compression", choices=("zstd", "gzip"), default="zstd", help="layer compression")
    parser.add_argument("--secret", action="append", default=[], metavar="id=ID,src=PATH",
                        help="a secret for RUN --mount=type=secret; may repeat")
    parser.add_argument("--cache-from", action="append", default=[], metavar="REF",
                        help="reuse the build cache stored in image REF (made by --cache-to); may repeat")
    parser.add_argument("--cache-to", metavar="REF", help="store this build's cache as image REF")
    parser.add_argument("-o", "--output", metavar="DEST",
                        help="also write the built stage's files: DIR, '-' (a tar on standard output), "
                             "type=local,dest=DIR or type=tar,dest=FILE")
    parser.add_argument("context", metavar="CONTEXT",
                        help="the build context directory ('-': the Dockerfile from standard input, no context)")
    parser.set_defaults(handler=run_build)


def run_build(args) -> int:
    import contextlib

    from dockpy.build.api import build
    from dockpy.build.options import BuildOptions
    from dockpy.root import StorageRoot

    if args.platform:
        _check_platform(args.platform)
    output = _build_output(args.output)
    root = StorageRoot.default()
    mode = "quiet" if args.quiet else args.progress
    with contextlib.ExitStack() as cleanup:
        context_dir, dockerfile = _context_and_dockerfile(args, root, cleanup)
        options = BuildOptions(
            context_dir=context_dir, dockerfile=dockerfile, tags=tuple(args.tag),
            build_args=_build_args(args.build_arg), target=args.target, no_cache=args.no_cache,
            network=args.network, labels=_pairs(args.label, "--label"), compression=args.compression,
            secrets=_secrets(args.secret), source_date_epoch=_source_date_epoch(),
            cache_from=tuple(args.cache_from), cache_to=args.cache_to,
        )
        renderer = _renderer(mode)
        cleanup.callback(getattr(renderer, "close", lambda: None))
        if output is not None:
            # An image built without -t is reachable from nothing gc counts as a root: the lease keeps
            # a concurrent `dockpy gc` from collecting it between the build and its export.
            from dockpy.image.lease import write_lease

            cleanup.enter_context(write_lease(root.create()))  # a first build makes the root: the lease lives in it
        progress = _progress(renderer)
        outcome = build(root, options, progress)
        if output is not None:
            _export(root, outcome.image_id, output, progress)
    if args.iidfile:
        _write_iidfile(args.iidfile, outcome.image_id)
    if mode == "quiet" and not (output and output.to_standard_output):
        print(outcome.image_id)  # not into the tar standard output carries
    return 0


def _build_output(value: str | None):
    """The parsed ``--output``, its destination checked, so a bad one fails before anything is built."""
    if value is None:
        return None
    from dockpy.build.exporters import check_output_destination, parse_output

    output = parse_output(value)
    check_output_destination(output)
    return output


def _export(root, image_id: str, output, progress) -> None:
    import time

    from dockpy.build.exporters import export_build_output
    from dockpy.build.progress import OutputExported
    from dockpy.image.store import ImageStore

    started = time.monotonic()
    with ImageStore(root) as store:
        export_build_output(store, image_id, output)
    progress.emit(OutputExported(output.description, time.monotonic() - started))


def _check_platform(wanted: str) -> None:
    """``--platform`` is accepted for the host's platform, which every build is for anyway."""
    from dockpy.build.variables import unsupported_platform
    from dockpy.errors import InvalidInputError
    from dockpy.image.oci import Platform

    problem = unsupported_platform(wanted, Platform.host())
    if problem is not None:
        raise InvalidInputError(f"--platform {problem}")


def _write_iidfile(path: str, image_id: str) -> None:
    from dockpy.errors import InvalidInputError

    try:
        with open(path, "w") as file:
            file.write(image_id)
    except OSError as error:
        raise InvalidInputError(f"write --iidfile {path}: {error.strerror}") from None


def _context_and_dockerfile(args, root, cleanup) -> tuple[str, str | None]:
    """The context directory and the Dockerfile's path; what standard input made is removed by ``cleanup``.

    ``-f -`` reads the Dockerfile from standard input; so does a CONTEXT of
    ``-``, with an empty context (as ``docker build - < Dockerfile``).
    """
    from dockpy.errors import InvalidInputError

    if args.file == "-" and args.context == "-":
        raise InvalidInputError("standard input cannot be both the build context and the Dockerfile")
    context, dockerfile = args.context, args.file
    if "-" in (args.file, args.context):
        dockerfile = _dockerfile_from_stdin(root)
        cleanup.callback(os.unlink, dockerfile)
    if args.context == "-":
        import tempfile

        context = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="dockpy-empty-context-"))
    return context, dockerfile


# What standard input starts with when it is an archive (gzip, bzip2, xz, zstd), not a Dockerfile.
_ARCHIVE_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")
_TAR_MAGIC_OFFSET = 257  # "ustar" in a tar's first header


def _dockerfile_from_stdin(root) -> str:
    """The Dockerfile read from standard input, in a file named by its content (so reruns match).

    Not named ``build-*``: it is written before the build takes the write lease, and gc collects
    ``build-*`` temp files as a killed build's leftovers. Docker also takes a context archive
    there; dockpy refuses one rather than parse it as a Dockerfile.
    """
    import hashlib

    from dockpy.errors import InvalidInputError

    data = sys.stdin.buffer.read()
    if data.startswith(_ARCHIVE_MAGIC) or data[_TAR_MAGIC_OFFSET:_TAR_MAGIC_OFFSET + 5] == b"ustar":
        raise InvalidInputError("standard input holds an archive, not a Dockerfile: dockpy takes no build context archive",
                                hint="Unpack it and give its directory as CONTEXT.")
    root.create()
    path = os.path.join(root.tmp, f"dockerfile-stdin-{hashlib.sha256(data).hexdigest()[:32]}.Dockerfile")
    with open(path, "wb") as file:
        file.write(data)
    return path


def _source_date_epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` from the environment (reproducible builds), read as the layer writer reads it.

    Unset, the tar writer (and ``typing``) stays unimported: an unchanged build never writes a layer.
    """
    if not os.environ.get("SOURCE_DATE_EPOCH"):
        return None
    from dockpy.layers.tarwriter import source_date_epoch_from_environment

    return source_date_epoch_from_environment()


def _progress(renderer):
    from dockpy.build.progress import Progress

    return Progress(renderer)


def _renderer(mode: str):
    from dockpy.build.progress import PlainRenderer, QuietRenderer

    if mode == "quiet":
        return QuietRenderer()
    if mode == "tty" or (mode == "auto" and sys.stderr.isatty()):
        from dockpy.build.live import LiveRenderer

        return LiveRenderer()
    return PlainRenderer()


def _build_args(values: list[str]) -> dict[str, str]:
    """``K=V`` sets; a bare ``K`` takes the value of K in dockpy's own environment, as Docker does."""
    result = {}
    for value in values:
        name, equals, text = value.partition("=")
        if equals:
            result[name] = text
        elif name in os.environ:
            result[name] = os.environ[name]
    return result


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    from dockpy.errors import InvalidInputError

    result = {}
    for value in values:
        name, equals, text = value.partition("=")
        if not name:
            raise InvalidInputError(f"invalid {flag} {value!r}: want KEY=VALUE")
        result[name] = text
    return result


def _secrets(values: list[str]) -> dict[str, str]:
    """``--secret id=ID,src=PATH`` (``source=`` too; ``src`` defaults to nothing, an error)."""
    from dockpy.errors import InvalidInputError

    secrets = {}
    for value in values:
        fields = dict(part.partition("=")[::2] for part in value.split(",") if part)
        secret_id = fields.get("id")
        source = fields.get("src") or fields.get("source")
        if not secret_id or not source:
            raise InvalidInputError(f"invalid --secret {value!r}: want id=ID,src=PATH")
        secrets[secret_id] = os.path.abspath(source)
    return secrets
