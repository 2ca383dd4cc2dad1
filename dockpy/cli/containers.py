"""Container commands besides run/create/start: ps, stop, kill, rm, wait, logs, exec, stats, port.

``inspect`` (containers, then images) lives in ``inspect.py``.
"""

from __future__ import annotations

import argparse
import sys
import time

from dockpy.cli.humanize import ellipsize, human_age, human_duration
from dockpy.cli.output import add_format_option, print_json, print_table


def register(commands) -> None:
    ps = commands.add_parser("ps", help="list containers")
    ps.add_argument("-a", "--all", action="store_true", help="show all containers (default: running ones)")
    ps.add_argument("-q", "--quiet", action="store_true", help="only print container ids")
    ps.add_argument("--no-trunc", action="store_true", help="full ids and commands in --format templates")
    ps.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                    help="only containers that match (id, name, label, status, exited, ancestor, before, since, "
                         "isolation, volume, network, publish, expose); repeat the flag for more")
    ps.add_argument("-n", "--last", type=int, default=-1, metavar="N", help="the N containers created last (all states)")
    ps.add_argument("-l", "--latest", action="store_true", help="the container created last (all states)")
    ps.add_argument("-s", "--size", action="store_true", help="show the bytes each container wrote (SIZE)")
    add_format_option(ps, templates=True)
    ps.set_defaults(handler=list_containers)

    stop = commands.add_parser("stop", help="stop running containers (stop signal, then SIGKILL)")
    stop.add_argument("-t", "--time", type=float, help="seconds to wait before SIGKILL (default 10)")
    stop.add_argument("containers", nargs="+", metavar="CONTAINER")
    stop.set_defaults(handler=stop_containers)

    kill = commands.add_parser("kill", help="send a signal to running containers")
    kill.add_argument("-s", "--signal", default="KILL", help="signal name or number (default KILL)")
    kill.add_argument("containers", nargs="+", metavar="CONTAINER")
    kill.set_defaults(handler=kill_containers)

    rm = commands.add_parser("rm", help="remove containers")
    rm.add_argument("-f", "--force", action="store_true", help="kill running containers first")
    # Docker's -v removes a container's anonymous volumes; dockpy has none (-v binds host paths, which stay).
    rm.add_argument("-v", "--volumes", action="store_true", help="accepted for Docker's scripts: dockpy has no anonymous volumes")
    rm.add_argument("containers", nargs="+", metavar="CONTAINER")
    rm.set_defaults(handler=remove_containers)

    wait = commands.add_parser("wait", help="wait for containers to stop and print their exit codes")
    wait.add_argument("containers", nargs="+", metavar="CONTAINER")
    wait.set_defaults(handler=wait_containers)

    logs = commands.add_parser("logs", help="print a detached container's output")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new output until it stops")
    logs.add_argument("-n", "--tail", default="all", metavar="N|all", help="only the last N lines (default all)")
    # Docker's flags that need the time of each line, which a container's log does not hold: refused by name.
    logs.add_argument("-t", "--timestamps", action="store_true", help=argparse.SUPPRESS)
    logs.add_argument("--since", help=argparse.SUPPRESS)
    logs.add_argument("--until", help=argparse.SUPPRESS)
    logs.add_argument("container", metavar="CONTAINER")
    logs.set_defaults(handler=print_logs)

    exec_ = commands.add_parser("exec", help="run a command in a running container")
    exec_.add_argument("-i", "--interactive", action="store_true", help="keep stdin attached")
    exec_.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-terminal")
    exec_.add_argument("-d", "--detach", action="store_true", help="run the command in the background (output discarded)")
    exec_.add_argument("-e", "--env", action="append", default=[], metavar="K=V", help="set an environment variable")
    exec_.add_argument("--env-file", action="append", default=[], metavar="FILE", help="read environment variables from a file")
    exec_.add_argument("-w", "--workdir", metavar="DIR", help="working directory")
    exec_.add_argument("-u", "--user", metavar="USER[:GROUP]", help="user name or uid")
    exec_.add_argument("container", metavar="CONTAINER")
    exec_.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND")
    exec_.set_defaults(handler=exec_in_container)

    stats = commands.add_parser("stats", help="CPU, memory, pids and block I/O of running containers")
    stats.add_argument("containers", nargs="*", metavar="CONTAINER")
    # CI scripts written for Docker ask for one sample; dockpy's stats always prints one.
    stats.add_argument("--no-stream", action="store_true", help="print one sample (what dockpy's stats always does)")
    add_format_option(stats)
    stats.set_defaults(handler=print_stats)

    port = commands.add_parser("port", help="list a running container's published ports")
    port.add_argument("container", metavar="CONTAINER")
    port.add_argument("port", nargs="?", metavar="PORT[/PROTO]", help="only where this container port is published")
    port.set_defaults(handler=print_ports)


def _runtime():
    from dockpy.runtime.lifecycle import Runtime

    return Runtime()


def list_containers(args) -> int:
    # The records alone: ps needs none of the lifecycle (signals, backends, run options).
    from dockpy.root import StorageRoot
    from dockpy.runtime.containers import ContainerStore

    store = ContainerStore(StorageRoot.default())
    records = selected_containers(store, args)
    if args.quiet:
        for record in records:
            print(record.short_id)
    elif args.format == "json":
        print_json([_json_of(store, record, args.size) for record in records])
    elif args.format != "table":
        from dockpy.cli.ps_fields import HEADERS, container_fields
        from dockpy.cli.row_template import print_rows

        print_rows(args.format, records, container_fields(store, args.no_trunc), "container", HEADERS)
    else:
        print_container_table(store, records, args.size)
    return 0


def selected_containers(store, args) -> list:
    """The records ``ps`` lists, newest first: running ones, all with ``-a``, ``-n``/``-l`` or a ``status``
    filter (as in Docker), those the filters keep, then the first ``-n`` of them."""
    limit = 1 if args.latest and args.last < 0 else args.last
    keep, filter_lists_stopped = _no_filter, False
    if args.filter:
        from dockpy.cli.ps_filters import container_filter

        keep, filter_lists_stopped = container_filter(store, args.filter)
    show_all = args.all or limit > 0 or filter_lists_stopped
    records = [record for record in store.list() if (show_all or record.is_running) and keep(record)]
    return records[:limit] if limit > 0 else records


def _no_filter(record) -> bool:
    return True


def print_container_table(store, records, with_size: bool) -> None:
    """Docker's default columns, and SIZE last with ``-s``."""
    headers = ("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES")
    rows = [
        (r.short_id, ellipsize(r.image, 30), ellipsize(_quoted(r.command), 24), human_age(r.created), status_text(r),
         ports_text(store, r), r.name)
        for r in records
    ]
    if with_size:
        from dockpy.cli.ps_fields import size_text

        headers += ("SIZE",)
        rows = [(*row, size_text(store, record)) for row, record in zip(rows, records)]
    print_table(headers, rows)


def _json_of(store, record, with_size: bool) -> dict:
    """dockpy's own record; with ``-s``, Docker's ``SizeRw`` and ``SizeRootFs`` too, in bytes."""
    document = record.to_json()
    if with_size:
        from dockpy.cli.ps_fields import sizes_of

        document["size_rw"], document["size_root_fs"] = sizes_of(store, record)
    return document


def stop_containers(args) -> int:
    runtime = _runtime()
    for reference in args.containers:
        runtime.stop(reference, args.time)
        print(reference)
    return 0


def kill_containers(args) -> int:
    from dockpy.runtime.signals import parse_signal

    runtime = _runtime()
    signum = parse_signal(args.signal)
    for reference in args.containers:
        runtime.kill(reference, signum)
        print(reference)
    return 0


def remove_containers(args) -> int:
    from dockpy.errors import NotFoundError

    runtime = _runtime()
    for reference in args.containers:
        try:
            runtime.remove(reference, force=args.force)
        except NotFoundError as error:
            if not args.force:
                raise
            # Docker's rm -f reports a container that is not there and does not fail: scripts clean up with it.
            print(f"dockpy: warning: {error}", file=sys.stderr)
            continue
        print(reference)
    return 0


def wait_containers(args) -> int:
    runtime = _runtime()
    for reference in args.containers:
        print(runtime.wait(reference))
    return 0


def print_logs(args) -> int:
    refuse_line_times(args)
    output = sys.stdout.buffer
    for chunk in _runtime().logs(args.container, follow=args.follow, tail=tail_lines(args.tail)):
        output.write(chunk)
        output.flush()
    return 0


def tail_lines(text: str) -> int | None:
    """``--tail``'s line count; ``all``, a negative number or anything else is the whole log, as Docker reads it."""
    try:
        count = int(text)
    except ValueError:
        return None
    return count if count >= 0 else None


def refuse_line_times(args) -> None:
    """``-t``, ``--since`` and ``--until`` need each line's time: the log holds the output exactly as written."""
    flag = "--timestamps" if args.timestamps else "--since" if args.since else "--until" if args.until else None
    if flag:
        from dockpy.errors import InvalidInputError

        raise InvalidInputError(
            f"logs {flag} is not supported: a container's log holds its output as written, without the time of each line"
        )


def exec_in_container(args) -> int:
    from dockpy.cli.input_device import check_input_is_a_terminal
    from dockpy.runtime.lifecycle import ExecOptions

    runtime = _runtime()
    runtime.store.get(args.container)  # as in Docker, a container that is not there is the error to report first
    if not args.detach:
        check_input_is_a_terminal(args.interactive, args.tty)
    options = ExecOptions(env=tuple(args.env), env_files=tuple(args.env_file), workdir=args.workdir, user=args.user,
                          interactive=args.interactive, tty=args.tty, detach=args.detach)
    return runtime.exec(args.container, tuple(args.command), options)


def print_stats(args) -> int:
    runtime = _runtime()
    records = [runtime.store.get(r) for r in args.containers] if args.containers else runtime.list()
    entries = [(record, runtime.usage(record)) for record in records]
    if args.format == "json":
        print_json([{"id": r.id, "name": r.name, **(u.to_json() if u else {})} for r, u in entries])
        return 0
    rows = [
        (r.short_id, r.name, _seconds(u.cpu_ns), _memory(u.memory_bytes, u.memory_limit_bytes), _value(u.pids),
         f"{_bytes(u.block_read_bytes)} / {_bytes(u.block_write_bytes)}")
        for r, u in entries if u is not None
    ]
    print_table(("CONTAINER ID", "NAME", "CPU TIME", "MEM USAGE / LIMIT", "PIDS", "BLOCK I/O"), rows)
    return 0


def print_ports(args) -> int:
    """``docker port``: ``80/tcp -> 0.0.0.0:8080`` per published port, or one port's host addresses."""
    from dockpy.runtime.ports import port_key, port_lines

    store = _runtime().store
    record = store.get(args.container)
    lines = port_lines(store.published_ports(record), args.port)
    if args.port and not lines:
        from dockpy.errors import NotFoundError

        raise NotFoundError(f"no public port '{port_key(args.port)}' published for {record.name}")
    for line in lines:
        print(line)
    return 0


def ports_text(store, record) -> str:
    """The PORTS column: a running container's published ports, and the ports it exposes unpublished."""
    if not record.is_running:
        return ""
    from dockpy.runtime.ports import ports_column

    published = store.published_ports(record)
    exposed = store.config_of(record)["image_config"].get("ExposedPorts") or {}
    return ports_column(published, exposed) if published or exposed else ""


def status_text(record, now: float | None = None) -> str:
    """Docker's STATUS column: ``Created``, ``Up 3 seconds``, ``Exited (0) About an hour ago``, in the
    same words (and rounding) as the CREATED column, as Docker words both with HumanDuration."""
    now = now or time.time()
    if record.state == "running":
        return f"Up {human_duration(now - (record.started or now))}"
    if record.state == "exited":
        return f"Exited ({record.exit_code}) {human_age(record.finished or now, now)}"
    return "Created"


def _quoted(command) -> str:
    return '"' + " ".join(command) + '"'


def _seconds(nanoseconds) -> str:
    return "-" if nanoseconds is None else f"{nanoseconds / 1e9:.2f}s"


def _memory(usage, limit) -> str:
    return f"{_bytes(usage)} / {_bytes(limit) if limit else 'unlimited'}"


def _value(value) -> str:
    return "-" if value is None else str(value)


def _bytes(count) -> str:
    if count is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f}{unit}" if unit == "B" else f"{count:.1f}{unit}"
        count /= 1024
    return str(count)
