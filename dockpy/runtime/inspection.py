"""``dockpy inspect CONTAINER``: the document ``docker container inspect`` prints, for one container.

CI scripts read it as they read Docker's (``jq '.[0].State.Status'``,
``inspect -f '{{.State.ExitCode}}'``), so the field names and types are the
Engine API's ``ContainerInspect``; what dockpy has no notion of (networks,
health checks, restart policies) is left out rather than made up;
``NetworkSettings`` holds ``Ports`` alone. dockpy's
own figures, the cgroup usage ``stats`` shows, sit under ``ResourceUsage``.
"""

from __future__ import annotations

import os

from dockpy.image.timestamps import format_timestamp
from dockpy.runtime.containers import RUNNING, ContainerPaths, ContainerRecord, recorded_labels
from dockpy.runtime.ports import bindings_from_json, port_bindings_document, ports_document
from dockpy.runtime.spec import DEFAULT_CAPABILITIES, DEFAULT_RLIMITS, ContainerSpec, VolumeMount

# Go's zero time.Time, which Docker prints for a container never started or never finished.
ZERO_TIME = "0001-01-01T00:00:00Z"
# The storage driver's name, as Docker's overlay drivers report it in GraphDriver.
DRIVER = "overlay"


def describe_container(runtime, record: ContainerRecord) -> dict:
    """Docker's inspect document for ``record``, a container of ``runtime`` (a ``lifecycle.Runtime``)."""
    config = runtime.store.config_of(record)
    spec = runtime.spec_of(record)
    paths = runtime.store.paths(record.id)
    usage = runtime.usage(record)
    volumes = user_volumes(spec, paths)
    return {
        "Id": record.id,
        "Created": format_timestamp(record.created),
        "Path": spec.process.args[0],
        "Args": list(spec.process.args[1:]),
        "State": container_state(record),
        "Image": record.image_id,
        "ResolvConfPath": paths.etc_file("resolv.conf"),
        "HostnamePath": paths.etc_file("hostname"),
        "HostsPath": paths.etc_file("hosts"),
        "LogPath": paths.log if os.path.exists(paths.log) else "",  # only a detached container logs to a file
        "Name": "/" + record.name,
        "RestartCount": 0,
        "Driver": DRIVER,
        "Platform": "linux",
        "HostConfig": {**host_config(record, spec, volumes, runtime.isolation_of(record)), **publishing(config),
                       **namespace_settings(spec, config)},
        "GraphDriver": graph_driver(spec),
        "Mounts": [mount_point(volume) for volume in volumes],
        "Config": {**container_config(record, spec, config), **stop_settings(config)},
        "NetworkSettings": network_settings(record, runtime.store.published_ports(record), exposed_ports(config)),
        "ResourceUsage": usage.to_json() if usage else None,
    }


def container_state(record: ContainerRecord) -> dict:
    """``State``: dockpy's states are Docker's created/running/exited; it never pauses, restarts or dies."""
    running = record.state == RUNNING
    return {
        "Status": record.state,
        "Running": running,
        "Paused": False,
        "Restarting": False,
        "OOMKilled": False,
        "Dead": False,
        "Pid": record.pid if running and record.pid else 0,
        "ExitCode": record.exit_code or 0,
        "Error": "",
        "StartedAt": format_timestamp(record.started) if record.started else ZERO_TIME,
        "FinishedAt": format_timestamp(record.finished) if record.finished else ZERO_TIME,
    }


def host_config(record: ContainerRecord, spec: ContainerSpec, volumes: list[VolumeMount], isolation: str) -> dict:
    """``HostConfig``: the flags of ``run`` as Docker stores them (0 or null where no limit was set)."""
    capabilities = set(spec.process.capabilities)
    return {
        "Binds": [bind_text(volume) for volume in volumes] or None,
        "NetworkMode": spec.network,
        "AutoRemove": record.auto_remove,
        "ReadonlyRootfs": spec.rootfs.read_only,
        "Memory": spec.resources.memory_bytes or 0,
        "NanoCpus": round(spec.resources.cpus * 1e9) if spec.resources.cpus else 0,
        "PidsLimit": spec.resources.pids_limit,
        "Privileged": False,
        "CapAdd": _capability_names(capabilities - set(DEFAULT_CAPABILITIES)),
        "CapDrop": _capability_names(set(DEFAULT_CAPABILITIES) - capabilities),
        "Init": spec.init,
        "Isolation": isolation,  # namespace or kvm: where docker and podman inspect show it
    }


def publishing(config: dict) -> dict:
    """``HostConfig.PortBindings`` (what ``-p`` and ``-P`` asked for: an ephemeral port is ``""``) and ``PublishAllPorts``."""
    return {
        "PortBindings": port_bindings_document(bindings_from_json(config.get("ports"))),
        "PublishAllPorts": config.get("publish_all", False),
    }


def namespace_settings(spec: ContainerSpec, config: dict) -> dict:
    """``ExtraHosts`` (``--add-host``, ``NAME:IP``), ``GroupAdd``, ``Ulimits`` (those beyond Docker's
    defaults, ``{"Name": "nofile", "Soft": 1024, "Hard": 2048}``), each null when not given, and
    ``Tmpfs`` (``{DST: OPTIONS}`` as given), left out when not given, as Docker leaves it out."""
    ulimits = [{"Name": rlimit.type.removeprefix("RLIMIT_").lower(), "Soft": rlimit.soft, "Hard": rlimit.hard}
               for rlimit in spec.process.rlimits if rlimit not in DEFAULT_RLIMITS]
    settings = {
        "ExtraHosts": config.get("extra_hosts"),
        "GroupAdd": list(spec.process.additional_groups) or None,
        "Ulimits": ulimits or None,
    }
    if "tmpfs" in config:
        settings["Tmpfs"] = config["tmpfs"]
    return settings


def stop_settings(config: dict) -> dict:
    """``Config.StopSignal`` (``--stop-signal``, else the image's) and ``Config.StopTimeout`` (``--stop-timeout``),
    each present only when set, as Docker shows them."""
    settings = {}
    signal = config.get("stop_signal") or config["image_config"].get("StopSignal")
    if signal:
        settings["StopSignal"] = signal
    if "stop_timeout" in config:
        settings["StopTimeout"] = config["stop_timeout"]
    return settings


def exposed_ports(config: dict) -> dict:
    """``Config.ExposedPorts``: the image's, with every published port (Docker exposes what ``-p`` names)."""
    exposed = dict.fromkeys(config["image_config"].get("ExposedPorts") or {}, {})
    exposed.update((binding.key, {}) for binding in bindings_from_json(config.get("ports")))
    return exposed


def network_settings(record: ContainerRecord, published, exposed: dict) -> dict:
    """``NetworkSettings.Ports``: where each port of a running container listens on the host (an exposed,
    unpublished one: null); empty when it is not running."""
    return {"Ports": ports_document(published, exposed) if record.state == RUNNING else {}}


def graph_driver(spec: ContainerSpec) -> dict:
    """``GraphDriver``: the overlay's directories; LowerDir lists the layers top-most first, as overlayfs takes them."""
    rootfs = spec.rootfs
    return {
        "Name": DRIVER,
        "Data": {"LowerDir": ":".join(rootfs.layers), "UpperDir": rootfs.upperdir, "WorkDir": rootfs.workdir,
                 "MergedDir": rootfs.mountpoint},
    }


def user_volumes(spec: ContainerSpec, paths: ContainerPaths) -> list[VolumeMount]:
    """The ``-v`` binds; dockpy's own /etc files (binds of files in the container's directory) are not volumes."""
    own_files = paths.directory + os.sep
    return [volume for volume in spec.volumes if not volume.source.startswith(own_files)]


def mount_point(volume: VolumeMount) -> dict:
    """One entry of ``Mounts``: Docker's shape for a bind mount."""
    return {
        "Type": "bind",
        "Source": volume.source,
        "Destination": volume.destination,
        "Mode": "ro" if volume.read_only else "",
        "RW": not volume.read_only,
        "Propagation": "rprivate",
    }


def bind_text(volume: VolumeMount) -> str:
    """``SRC:DST`` or ``SRC:DST:ro``, as ``-v`` takes it and ``HostConfig.Binds`` lists it."""
    return f"{volume.source}:{volume.destination}" + (":ro" if volume.read_only else "")


def container_config(record: ContainerRecord, spec: ContainerSpec, config: dict) -> dict:
    """``Config``: what the container was made with, after the image's defaults were applied.

    Entrypoint and Cmd are what ``create`` recorded; a container made before
    dockpy recorded them shows its whole command as Cmd.
    """
    process = spec.process
    entrypoint, cmd = config.get("entrypoint"), config.get("cmd", list(process.args))
    return {
        "Hostname": spec.hostname,
        "User": process.user,
        "Tty": process.terminal,
        "OpenStdin": process.interactive,
        "Env": list(process.env),
        "Cmd": cmd or None,
        "Image": record.image,
        "WorkingDir": process.cwd,
        "Entrypoint": entrypoint or None,
        "ExposedPorts": exposed_ports(config) or None,
        "Labels": recorded_labels(config),
    }


def _capability_names(capabilities: set[str]) -> list[str] | None:
    """Names as ``--cap-add`` takes them (``NET_ADMIN``), sorted; null when there are none, as Docker shows it."""
    return sorted(name.removeprefix("CAP_") for name in capabilities) or None
