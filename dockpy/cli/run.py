"""``dockpy run``, ``create`` and ``start``: making containers and starting them."""

from __future__ import annotations

import argparse

from dockpy import collector
from dockpy.cli.input_device import attached_run_needs_a_terminal


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
    parser.add_argument("--env-file", action="append", default=[], metavar="FILE", help="read environment variables from a file")
    parser.add_argument("-l", "--label", action="append", default=[], metavar="K=V", help="set a label on the container")
    parser.add_argument("--label-file", action="append", default=[], metavar="FILE", help="read labels from a file")
    parser.add_argument("--cidfile", metavar="FILE", help="write the container's id to a new file")
    parser.add_argument("-w", "--workdir", metavar="DIR", help="working directory inside the container")
    parser.add_argument("-u", "--user", metavar="USER[:GROUP]", help="user name or uid, optionally with group")
    parser.add_argument("--entrypoint", metavar="CMD", help="replace the image's entrypoint")
    parser.add_argument("-v", "--volume", action="append", default=[], metavar="SRC:DST[:ro]", help="bind a host path")
    parser.add_argument("--network", "--net", choices=("none", "host"),
                        help="network mode (default: a private network namespace, as none, that can publish ports)")
    parser.add_argument("-p", "--publish", action="append", default=[], metavar="[IP:][HOSTPORT:]PORT[/PROTO]",
                        help="publish a container's port on the host (PROTO tcp or udp)")
    parser.add_argument("-P", "--publish-all", action="store_true", help="publish every port the image exposes on ephemeral host ports")
    parser.add_argument("-h", "--hostname", help="the container's host name")
    parser.add_argument("--add-host", action="append", default=[], metavar="NAME:IP", help="add a line to /etc/hosts")
    parser.add_argument("--tmpfs", action="append", default=[], metavar="DST[:OPTIONS]", help="mount a tmpfs on DST")
    parser.add_argument("--cap-add", action="append", default=[], metavar="CAP", help="add a capability (or ALL)")
    parser.add_argument("--cap-drop", action="append", default=[], metavar="CAP", help="drop a capability (or ALL)")
    parser.add_argument("--ulimit", action="append", default=[], metavar="NAME=SOFT[:HARD]", help="set a resource limit")
    parser.add_argument("--group-add", action="append", default=[], metavar="GROUP", help="add a supplementary group")
    parser.add_argument("--stop-signal", metavar="SIGNAL", help="signal that stops the container (default SIGTERM)")
    parser.add_argument("--stop-timeout", type=int, metavar="SECONDS", help="seconds stop waits before SIGKILL (default 10)")
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


@attached_run_needs_a_terminal
def run_container(args) -> int:
    """``run``; in the foreground, without cycle collection until the container runs.

    Everything ``run`` makes before that (its modules, the image, the spec,
    the record) lives until the process ends, and none of it is cyclic
    garbage, yet the collector went over those objects ten times before
    each start (3-4 ms). ``monitor.run_foreground`` resumes it once the
    program runs; PID 1, forked meanwhile, never collects: it only execs.
    """
    if not args.detach:
        collector.pause()
        try:
            runtime, options = _runtime_and_options(args)
            return runtime.run(_image(runtime, args), options, name=args.name, auto_remove=args.rm)
        finally:
            collector.resume()  # a no-op once the program runs; a run that failed before its start
    runtime, record = _create(args, starting=True)
    runtime.start(record.id)
    print(record.id)
    return 0


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


def _create(args, starting: bool = False):
    runtime, options = _runtime_and_options(args)
    record = runtime.create(_image(runtime, args), options, name=args.name, auto_remove=args.rm, starting=starting)
    return runtime, record


def _runtime_and_options(args):
    from dockpy.runtime.config import RunOptions
    from dockpy.runtime.lifecycle import Runtime

    runtime = Runtime()
    options = RunOptions(
        command=tuple(args.command), entrypoint=args.entrypoint, env=tuple(args.env), workdir=args.workdir,
        user=args.user, hostname=args.hostname, network=args.network, volumes=tuple(args.volume),
        memory=args.memory, cpus=args.cpus, pids_limit=args.pids_limit, read_only=args.read_only,
        interactive=args.interactive, tty=args.tty, init=args.init, isolation=args.isolation,
        publish=tuple(args.publish), publish_all=args.publish_all,
        env_files=tuple(args.env_file), labels=tuple(args.label), label_files=tuple(args.label_file),
        cidfile=args.cidfile, add_hosts=tuple(args.add_host), tmpfs=tuple(args.tmpfs), cap_add=tuple(args.cap_add),
        cap_drop=tuple(args.cap_drop), ulimits=tuple(args.ulimit), stop_signal=args.stop_signal,
        stop_timeout=args.stop_timeout, group_add=tuple(args.group_add),
    )
    return runtime, options


def _image(runtime, args):
    from dockpy.runtime.images import resolve_image, rootfs_image

    if args.rootfs:
        return rootfs_image(args.image)
    return resolve_image(runtime.root, args.image, runtime.store.database)

