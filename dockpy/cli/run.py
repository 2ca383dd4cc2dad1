"""``dockpy run``, ``create`` and ``start``: making containers and starting them."""

from __future__ import annotations

import argparse


def register(commands) -> None:
    # add_help=False: -h is --hostname, as in Docker; --help stays.
    run = commands.add_parser("run", help="run a command in a new container", add_help=False)
    _add_container_options(run)
    run.add_argument("--rm", action="store_true", help="remove the container when it exits")
    run.add_argument("-d", "--detach", action="store_true", help="run in the background and print the container id")
    run.set_defaults(handler=run_container)

    create = commands.add_parser("create", help="create a container without starting it", add_help=False)
    _add_container_options(create)
    create.add_argument("--rm", action="store_true", help="remove the container when it exits")
    create.set_defaults(handler=create_container)

    start = commands.add_parser("start", help="start stopped containers in the background")
    start.add_argument("containers", nargs="+", metavar="CONTAINER")
    start.set_defaults(handler=start_containers)


def _add_container_options(parser) -> None:
    parser.add_argument("--help", action="help", help="show this help message and exit")
    parser.add_argument("-i", "--interactive", action="store_true", help="keep stdin attached")
    parser.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-terminal")
    parser.add_argument("--name", help="the container's name")
    parser.add_argument("-e", "--env", action="append", default=[], metavar="K=V", help="set an environment variable")
    parser.add_argument("-w", "--workdir", metavar="DIR", help="working directory inside the container")
    parser.add_argument("-u", "--user", metavar="USER[:GROUP]", help="user name or uid, optionally with group")
    parser.add_argument("--entrypoint", metavar="CMD", help="replace the image's entrypoint")
    parser.add_argument("-v", "--volume", action="append", default=[], metavar="SRC:DST[:ro]", help="bind a host path")
    parser.add_argument("--network", "--net", default="none", choices=("none", "host"), help="network mode (default none)")
    parser.add_argument("-h", "--hostname", help="the container's host name")
    parser.add_argument("-m", "--memory", metavar="SIZE", help="memory limit (e.g. 512m)")
    parser.add_argument("--cpus", type=float, metavar="N", help="CPU quota in CPUs (e.g. 0.5)")
    parser.add_argument("--pids-limit", type=int, metavar="N", help="maximum number of processes")
    parser.add_argument("--read-only", action="store_true", help="mount the root filesystem read-only")
    parser.add_argument("--init", action="store_true", help="run dockpy's init as PID 1 (reaps zombies, forwards signals)")
    parser.add_argument("--isolation", default="namespace", choices=("namespace", "kvm"),
                        help="namespace (default) or kvm: run in a QEMU microVM with its own kernel")
    parser.add_argument("--rootfs", action="store_true", help="IMAGE is a root filesystem directory, not an image")
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND")


def run_container(args) -> int:
    if args.isolation == "kvm" and not args.detach:
        runtime, options = _runtime_and_options(args)
        return runtime.run_in_vm(_image(runtime, args), options, name=args.name, auto_remove=args.rm)
    runtime, record = _create(args)
    if args.detach:
        runtime.start(record.id)
        print(record.id)
        return 0
    return runtime.run_attached(record)


def create_container(args) -> int:
    _, record = _create(args)
    print(record.id)
    return 0


def start_containers(args) -> int:
    from dockpy.runtime.lifecycle import Runtime

    runtime = Runtime()
    for reference in args.containers:
        runtime.start(reference)
        print(reference)
    return 0


def _create(args):
    runtime, options = _runtime_and_options(args)
    record = runtime.create(_image(runtime, args), options, name=args.name, auto_remove=args.rm)
    return runtime, record


def _runtime_and_options(args):
    from dockpy.runtime.config import RunOptions
    from dockpy.runtime.lifecycle import Runtime

    options = RunOptions(
        command=tuple(args.command), entrypoint=args.entrypoint, env=tuple(args.env), workdir=args.workdir,
        user=args.user, hostname=args.hostname, network=args.network, volumes=tuple(args.volume),
        memory=args.memory, cpus=args.cpus, pids_limit=args.pids_limit, read_only=args.read_only,
        interactive=args.interactive, tty=args.tty, init=args.init, isolation=args.isolation,
    )
    return Runtime(), options


def _image(runtime, args):
    from dockpy.runtime.images import resolve_image, rootfs_image

    if args.rootfs:
        return rootfs_image(args.image)
    return resolve_image(runtime.root, args.image, runtime.store.database)

