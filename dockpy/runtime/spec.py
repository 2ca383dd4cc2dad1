"""What to run, independent of how: the spec every runtime backend executes.

The namespace backend and the kvm backend receive the same ``ContainerSpec``
and differ only in how they carry it out (crun's model). The spec is plain
data: building it (from an image config and the user's flags) is the
container lifecycle's job; executing it is a backend's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Docker's default capability set (moby's oci/caps/defaults.go): what a container's root keeps.
DEFAULT_CAPABILITIES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)


@dataclass(frozen=True)
class Rlimit:
    """A resource limit to set (``RLIMIT_NOFILE``...); backends never ask for more than the host's hard limit."""

    type: str
    soft: int
    hard: int


# Docker daemons usually run with 1048576 open files; hosts with a lower hard limit get that instead.
DEFAULT_RLIMITS = (Rlimit("RLIMIT_NOFILE", 1048576, 1048576),)


@dataclass(frozen=True)
class Process:
    """The container's main process, after Docker's Entrypoint/Cmd/Env precedence was applied.

    ``user`` is as the user wrote it (``""``, ``"1000"``, ``"app:staff"``): names
    are resolved inside the container's own /etc/passwd and /etc/group.
    """

    args: tuple[str, ...]
    env: tuple[str, ...] = ()
    cwd: str = "/"
    user: str = ""
    terminal: bool = False
    interactive: bool = False
    capabilities: tuple[str, ...] = DEFAULT_CAPABILITIES
    no_new_privileges: bool = True
    rlimits: tuple[Rlimit, ...] = DEFAULT_RLIMITS


@dataclass(frozen=True)
class RootFilesystem:
    """An overlay: read-only ``layers`` (top-most first) under the container's writable dirs.

    ``mountpoint`` is the directory the namespace backend mounts the merged
    view on (inside the container's own mount namespace, so the host never
    sees it); a VM backend needs none.
    """

    layers: tuple[str, ...]
    upperdir: str
    workdir: str
    mountpoint: str = ""
    read_only: bool = False


@dataclass(frozen=True)
class VolumeMount:
    """``-v SOURCE:DESTINATION[:ro]``: a host path bound into the container.

    dockpy's own /etc/hosts, /etc/hostname and /etc/resolv.conf are volume
    mounts of files in the container's directory too, which keeps them out of
    the container's changes (Docker's init layer does the same).
    """

    source: str
    destination: str
    read_only: bool = False


@dataclass(frozen=True)
class Resources:
    """cgroup limits; ``None`` means unlimited."""

    memory_bytes: int | None = None
    cpus: float | None = None
    pids_limit: int | None = None


NETWORK_MODES = ("none", "host")
# How a container is isolated: Linux namespaces on this kernel, or a QEMU microVM with its own (docs/kvm.md).
ISOLATION_MODES = ("namespace", "kvm")


@dataclass(frozen=True)
class ContainerSpec:
    """Everything a backend needs to run one container.

    ``init``: run a small init as PID 1 that forwards signals and reaps
    zombies, with the process as its child (``docker run --init``).
    """

    id: str
    rootfs: RootFilesystem
    process: Process
    hostname: str
    network: str = "none"
    volumes: tuple[VolumeMount, ...] = ()
    resources: Resources = field(default_factory=Resources)
    init: bool = False


def spec_to_json(spec: ContainerSpec) -> dict:
    """The spec as plain JSON values (a container's config.json), read back by ``spec_from_json``."""
    return asdict(spec)


def spec_from_json(data: dict) -> ContainerSpec:
    process = dict(data["process"])
    process["rlimits"] = tuple(Rlimit(**rlimit) for rlimit in process.get("rlimits", ()))
    for key in ("args", "env", "capabilities"):
        if key in process:
            process[key] = tuple(process[key])
    rootfs = dict(data["rootfs"], layers=tuple(data["rootfs"]["layers"]))
    return ContainerSpec(
        **{
            **data,
            "rootfs": RootFilesystem(**rootfs),
            "process": Process(**process),
            "volumes": tuple(VolumeMount(**volume) for volume in data.get("volumes", ())),
            "resources": Resources(**data.get("resources", {})),
        }
    )
