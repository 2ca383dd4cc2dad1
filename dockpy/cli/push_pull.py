"""``dockpy pull`` and ``dockpy push``: images to and from registries, with progress."""

from __future__ import annotations

import _thread  # threading.Lock is _thread's lock; importing threading costs a push of nothing new ~1 ms
import sys


def register(commands) -> None:
    pull = commands.add_parser("pull", help="download an image from a registry")
    pull.add_argument("image", metavar="NAME[:TAG|@DIGEST]")
    pull.add_argument("--platform", metavar="OS/ARCH[/VARIANT]", help="which image of a multi-platform index")
    _add_transfer_options(pull)
    pull.set_defaults(handler=run_pull)
    push = commands.add_parser("push", help="upload an image to a registry")
    push.add_argument("image", metavar="NAME[:TAG]", help="local image; its name says where it goes")
    push.add_argument("destination", metavar="DESTINATION", nargs="?",
                      help="push under this registry name instead (HOST/REPO[:TAG])")
    push.add_argument("--compression", choices=("zstd", "gzip"),
                      help="push layers compressed so (converting those stored otherwise); default: as stored")
    _add_transfer_options(push)
    push.set_defaults(handler=run_push)


def _add_transfer_options(parser) -> None:
    parser.add_argument("--tls-verify", default="true", choices=("true", "false"),
                        help="verify the registry's TLS certificate (false also allows plain http)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the result")


def run_pull(args) -> int:
    from dockpy.image.registry.client import RegistryClient
    from dockpy.image.registry.pull import parse_platform, pull_image
    from dockpy.image.registry.remote import RemoteImage
    from dockpy.image.store import ImageStore

    remote = RemoteImage.parse(args.image)
    platform = parse_platform(args.platform) if args.platform else None
    with ImageStore() as store, RegistryClient(remote.registry, tls_verify=args.tls_verify == "true") as client:
        with _progress(args.quiet) as progress:
            image = pull_image(store, client, remote, platform=platform, progress=progress)
    if not args.quiet:
        print(f"Digest: {image.manifest_digest}")
    print(args.image if args.quiet else f"Pulled {args.image} (image {image.id.short})")
    return 0


def run_push(args) -> int:
    from dockpy.image.refs import Refs
    from dockpy.image.registry.client import RegistryClient
    from dockpy.image.registry.push import push_image
    from dockpy.image.registry.remote import RemoteImage

    remote = RemoteImage.parse(args.destination or args.image)
    compression = None
    if args.compression:
        from dockpy.layers.compression import Compression

        compression = Compression(args.compression)
    with Refs() as store, RegistryClient(remote.registry, tls_verify=args.tls_verify == "true") as client:
        with _progress(args.quiet) as progress:
            digest = push_image(store, client, args.image, remote, compression=compression, progress=progress)
    print(digest if args.quiet else f"{remote.reference}: digest: {digest}")
    return 0


def _progress(quiet: bool):
    if quiet:
        return _PlainProgress(None)
    if sys.stderr.isatty():
        return _BarProgress()
    return _PlainProgress(sys.stderr)


class _PlainProgress:
    """One line per blob when it is done (logs of CI jobs are not terminals)."""

    def __init__(self, stream):
        self._stream = stream
        self._lock = _thread.allocate_lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def started(self, digest, size) -> None:
        pass

    def advanced(self, digest, count) -> None:
        pass

    def finished(self, digest, outcome) -> None:
        if self._stream is not None:
            with self._lock:
                print(f"{digest.short}: {outcome}", file=self._stream, flush=True)


class _BarProgress:
    """A rich progress bar per blob, on a terminal.

    rich is imported, and its display started, with the first blob: a push
    the registry already holds shows no bar and loads no rich. The lock
    makes that happen once, on whichever transfer thread comes first.
    """

    def __init__(self):
        self._bars = None
        self._tasks = {}
        self._lock = _thread.allocate_lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self._bars is not None:
            self._bars.stop()

    def started(self, digest, size) -> None:
        with self._lock:
            if self._bars is None:
                self._bars = _started_bars()
        self._tasks[digest] = self._bars.add_task(digest.short, total=size)

    def advanced(self, digest, count) -> None:
        self._bars.advance(self._tasks[digest], count)

    def finished(self, digest, outcome) -> None:
        task = self._tasks[digest]
        self._bars.update(task, completed=self._bars.tasks[task].total, description=f"{digest.short} {outcome}")


def _started_bars():
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    bars = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), transient=False)
    bars.start()
    return bars
