"""What to run, independent of how: the spec every runtime backend executes.

The namespace backend and the kvm backend receive the same ``ContainerSpec``
and differ only in how they carry it out (crun's model). The spec is plain
data: building it (from an image config and the user's flags) is the
container lifecycle's job; executing it is a backend's.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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


@dataclass(frozen=True)
class RootFilesystem:
    """An overlay: read-only ``layers`` (top-most first) under the container's writable dirs."""

    layers: tuple[str, ...]
    upperdir: str
    workdir: str
    read_only: bool = False


@dataclass(frozen=True)
class VolumeMount:
    """``-v SOURCE:DESTINATION[:ro]``: a host path bound into the container."""

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


@dataclass(frozen=True)
class ContainerSpec:
    """Everything a backend needs to run one container."""

    id: str
    rootfs: RootFilesystem
    process: Process
    hostname: str
    network: str = "none"
    volumes: tuple[VolumeMount, ...] = ()
    resources: Resources = field(default_factory=Resources)
