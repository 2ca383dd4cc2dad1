"""From an image's config and the user's flags to the process a container runs.

Docker's precedence rules, in one place:

- ``--entrypoint`` replaces the image's Entrypoint *and* drops its Cmd;
  otherwise command-line arguments replace the image's Cmd. The program is
  Entrypoint + Cmd; with neither, there is nothing to run (an error).
- Env: PATH (Docker's default unless the image sets one), HOSTNAME, TERM=xterm
  for ``-t``, then the image's Env, then ``--env-file`` lines, then ``-e`` (later
  wins, by name). ``-e NAME`` without a value takes the caller's value, or drops
  the variable if unset.
- Labels: the image's, then ``--label-file`` lines, then ``-l`` (later wins).
- ``-w`` replaces WorkingDir (default ``/``); ``-u`` replaces User (default root).
"""

from __future__ import annotations

import os
import re
import sys
from collections import namedtuple

from dockpy.errors import InvalidInputError, NotFoundError
from dockpy.image.config_defaults import DEFAULT_PATH
from dockpy.runtime.spec import (
    DEFAULT_CAPABILITIES, DEFAULT_RLIMITS, ISOLATION_MODES, NETWORK_MODES, Process, Resources, VolumeMount,
)

# Compiled on first use (``re`` caches it): most runs give no --memory.
_SIZE = r"(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?"
_SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
# The kernel refuses memory limits this small in practice; Docker's minimum is 6 MiB.
MINIMUM_MEMORY_BYTES = 6 * 1024 * 1024


_RunOptionsFields = namedtuple(
    "RunOptions",
    "command entrypoint env workdir user hostname network volumes memory cpus pids_limit read_only interactive tty init"
    " isolation publish publish_all env_files labels label_files cidfile add_hosts tmpfs cap_add cap_drop ulimits"
    " stop_signal stop_timeout group_add",
    defaults=((), None, (), None, None, None, None, (), None, None, None, False, False, False, False, "namespace", (), False,
              (), (), (), None, (), (), (), (), (), None, None, ()),
)
# The flags a microVM cannot honour (docs/kvm.md), by RunOptions field: refused with --isolation kvm.
NAMESPACE_ONLY_FLAGS = {"add_hosts": "--add-host", "tmpfs": "--tmpfs", "cap_add": "--cap-add", "cap_drop": "--cap-drop",
                        "ulimits": "--ulimit", "group_add": "--group-add"}


class RunOptions(_RunOptionsFields):
    """The flags of ``run``/``create`` that shape the container (None: not given).

    ``command``, ``env`` (``K=V``) and ``volumes`` (``SRC:DST[:ro]``) are
    tuples of str as given; ``memory`` is the size text (``512m``), ``cpus`` a
    float, ``pids_limit`` an int; ``network`` None is the default mode (a
    private namespace, as ``none``); ``publish`` holds the ``-p`` texts and
    ``publish_all`` is ``-P``; ``env_files``, ``labels`` (``K=V``), ``label_files``,
    ``add_hosts``, ``tmpfs``, ``cap_add``, ``cap_drop``, ``ulimits`` and
    ``group_add`` are tuples of the repeatable flags' texts; ``stop_timeout``
    is an int; the rest are the flags' str or bool values.
    (A namedtuple, as the spec's records: see ``spec``.)
    """

    __slots__ = ()


def build_process(image_config: dict, options: RunOptions, hostname: str) -> Process:
    """The program, environment, workdir and user, by Docker's precedence."""
    return Process(
        args=program_arguments(image_config, options),
        env=environment(image_config, options, hostname),
        cwd=working_directory(image_config, options),
        user=options.user if options.user is not None else image_config.get("User") or "",
        terminal=options.tty,
        interactive=options.interactive,
        capabilities=capabilities(options),
        rlimits=rlimits(options),
        additional_groups=tuple(options.group_add),
    )


def capabilities(options: RunOptions) -> tuple[str, ...]:
    """Docker's default set, changed by ``--cap-add``/``--cap-drop`` (see ``runtime.capabilities``)."""
    if not (options.cap_add or options.cap_drop):
        return DEFAULT_CAPABILITIES
    from dockpy.runtime.capabilities import adjusted_capabilities

    return adjusted_capabilities(options.cap_add, options.cap_drop)


def rlimits(options: RunOptions) -> tuple:
    """Docker's default limits, with the ``--ulimit`` ones in their place (see ``runtime.ulimits``)."""
    if not options.ulimits:
        return DEFAULT_RLIMITS
    from dockpy.runtime.ulimits import container_rlimits

    return container_rlimits(options.ulimits)


def entrypoint_and_cmd(image_config: dict, options: RunOptions) -> tuple[list[str], list[str]]:
    """The container's Entrypoint and Cmd (lists of str, maybe empty); ``inspect`` shows them apart."""
    if options.entrypoint is not None:
        return ([options.entrypoint] if options.entrypoint else []), list(options.command)
    return list(image_config.get("Entrypoint") or []), list(options.command) or list(image_config.get("Cmd") or [])


def program_arguments(image_config: dict, options: RunOptions) -> tuple[str, ...]:
    entrypoint, cmd = entrypoint_and_cmd(image_config, options)
    args = tuple(entrypoint + cmd)
    if not args:
        raise InvalidInputError("no command specified", hint="Give a command after the image, or set CMD/ENTRYPOINT in the image.")
    return args


def environment(image_config: dict, options: RunOptions, hostname: str) -> tuple[str, ...]:
    values: dict[str, str] = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname}
    if options.tty:
        values["TERM"] = "xterm"
    for entry in image_config.get("Env") or []:
        name, _, value = entry.partition("=")
        values[name] = value
    for entry in _env_file_entries(options) + tuple(options.env):
        name, has_value, value = entry.partition("=")
        if not name:
            raise InvalidInputError(f"invalid environment variable: {entry!r}")
        if has_value:
            values[name] = value
        elif name in os.environ:
            values[name] = os.environ[name]
        else:
            values.pop(name, None)
    return tuple(f"{name}={value}" for name, value in values.items())


def _env_file_entries(options: RunOptions) -> tuple[str, ...]:
    if not options.env_files:
        return ()
    from dockpy.runtime.keyvalue_files import read_env_files

    return tuple(read_env_files(options.env_files))


def container_labels(image_config: dict, options: RunOptions) -> dict:
    """``Config.Labels``: the image's, then ``--label-file`` lines, then ``-l`` (later wins); ``-l K`` is ``K=""``."""
    labels = dict(image_config.get("Labels") or {})
    entries = list(options.labels)
    if options.label_files:
        from dockpy.runtime.keyvalue_files import read_label_files

        entries = read_label_files(options.label_files) + entries
    for entry in entries:
        name, _, value = entry.partition("=")
        if not name.strip():
            raise InvalidInputError(f"invalid label '{entry}': empty name")
        labels[name] = value
    return labels


def tmpfs_mounts(options: RunOptions) -> tuple:
    """The ``--tmpfs`` mounts (``TmpfsMount``), Docker's default options merged in."""
    if not options.tmpfs:
        return ()
    from dockpy.runtime.tmpfs import parse_tmpfs

    return tuple(parse_tmpfs(text) for text in options.tmpfs)


def extra_hosts(options: RunOptions) -> tuple:
    """The ``--add-host`` entries as ``(name, address)`` pairs."""
    if not options.add_hosts:
        return ()
    from dockpy.runtime.extra_hosts import parse_add_host

    return tuple(parse_add_host(text) for text in options.add_hosts)


def recorded_settings(image_config: dict, options: RunOptions, hosts: tuple) -> dict:
    """What ``inspect`` and ``stop`` read back from config.json beside the spec, for the flags given only:
    ``labels``, ``extra_hosts``, ``tmpfs`` (Docker's ``{DST: OPTIONS}`` as given), ``stop_signal``, ``stop_timeout``."""
    settings: dict = {}
    if options.labels or options.label_files:
        settings["labels"] = container_labels(image_config, options)
    if hosts:
        settings["extra_hosts"] = [f"{name}:{address}" for name, address in hosts]
    if options.tmpfs:
        settings["tmpfs"] = dict(text.partition(":")[::2] for text in options.tmpfs)
    if options.stop_signal is not None:
        settings["stop_signal"] = options.stop_signal
    if options.stop_timeout is not None:
        settings["stop_timeout"] = options.stop_timeout
    return settings


def refuse_namespace_only_flags(options: RunOptions) -> None:
    """``--isolation kvm``: one line naming the first flag given that a microVM cannot honour."""
    for field, flag in NAMESPACE_ONLY_FLAGS.items():
        if getattr(options, field):
            raise InvalidInputError(f"{flag} is not available with --isolation kvm",
                                    hint="Leave it out, or run with the default --isolation namespace.")


def working_directory(image_config: dict, options: RunOptions) -> str:
    if options.workdir is not None:
        if not options.workdir.startswith("/"):
            raise InvalidInputError(f"the working directory '{options.workdir}' is invalid, it needs to be an absolute path")
        return options.workdir
    return image_config.get("WorkingDir") or "/"


def resources(options: RunOptions) -> Resources:
    memory = parse_size(options.memory) if options.memory is not None else None
    if memory is not None and memory < MINIMUM_MEMORY_BYTES:
        raise InvalidInputError("minimum memory limit allowed is 6MB")
    if options.cpus is not None and options.cpus <= 0:
        raise InvalidInputError(f"invalid --cpus {options.cpus}: must be above 0")
    pids = options.pids_limit if options.pids_limit and options.pids_limit > 0 else None
    return Resources(memory_bytes=memory, cpus=options.cpus, pids_limit=pids)


def parse_size(text: str) -> int:
    """Docker's sizes: ``512m``, ``1g``, ``1.5GiB``, plain bytes; binary units."""
    match = re.fullmatch(_SIZE, text.strip(), re.IGNORECASE)
    if not match:
        raise InvalidInputError(f"invalid size: {text!r}", hint="Use a number with an optional unit: b, k, m, g (e.g. 512m).")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def parse_volume(text: str) -> VolumeMount:
    """``-v SRC:DST[:ro|rw]`` with an absolute host SRC (named volumes are not supported)."""
    parts = text.split(":")
    mode = parts.pop() if len(parts) == 3 else "rw"
    if len(parts) != 2 or mode not in ("ro", "rw") or not all(parts):
        raise InvalidInputError(f"invalid volume specification: {text!r}", hint="Use -v /host/path:/container/path[:ro].")
    source, destination = parts
    if not source.startswith("/"):
        raise InvalidInputError(f"invalid volume {text!r}: named volumes are not supported, give an absolute host path")
    if not destination.startswith("/"):
        raise InvalidInputError(f"invalid volume {text!r}: the destination must be an absolute path")
    return VolumeMount(os.path.normpath(source), os.path.normpath(destination), mode == "ro")


def existing_volumes(texts) -> tuple[VolumeMount, ...]:
    """The ``-v`` specs, each host path checked to exist before a container is made, as Docker's ``--mount``
    checks it (``docker run -v`` would create a missing one; dockpy never creates host directories)."""
    volumes = tuple(parse_volume(text) for text in texts)
    for volume in volumes:
        if not os.path.exists(volume.source):
            raise NotFoundError(f"bind source path does not exist: {volume.source}",
                                hint="Create it first: dockpy does not make host directories for -v.")
    return volumes


def check_network(network: str | None) -> str:
    """The mode to run in: ``none`` when none was given."""
    network = network or "none"
    if network not in NETWORK_MODES:
        raise InvalidInputError(f"network mode {network!r} is not supported", hint=f"Use one of: {', '.join(NETWORK_MODES)}.")
    return network


def port_bindings(image_config: dict, options: RunOptions) -> tuple:
    """The ``PortBinding``s of ``-p`` and ``-P`` (an explicit ``-p`` wins over ``-P`` for its port), by Docker's rules:
    discarded with a warning for ``--network host``, refused with ``--network none`` (nothing to reach the
    container by) and with ``--isolation kvm`` (the microVM has no network interface)."""
    if not (options.publish or options.publish_all):
        return ()
    from dockpy.runtime.ports import exposed_bindings, parse_publish

    bindings = tuple(parse_publish(text) for text in options.publish)
    if options.publish_all:
        given = {binding.key for binding in bindings}
        bindings += tuple(binding for binding in exposed_bindings(image_config) if binding.key not in given)
    if options.network == "host":
        print("WARNING: Published ports are discarded when using host network mode", file=sys.stderr)
        return ()
    if options.network == "none":
        raise InvalidInputError("conflicting options: port publishing and the container type network mode",
                                hint="Leave out --network none: the default mode publishes ports.")
    if options.isolation == "kvm":
        raise InvalidInputError("port publishing is not available with --isolation kvm: the microVM has no network interface")
    return bindings


def check_isolation(isolation: str) -> str:
    if isolation not in ISOLATION_MODES:
        raise InvalidInputError(f"isolation {isolation!r} is not supported", hint=f"Use one of: {', '.join(ISOLATION_MODES)}.")
    return isolation
