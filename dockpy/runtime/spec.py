"""What to run, independent of how: the spec every runtime backend executes.

The namespace backend and the kvm backend receive the same ``ContainerSpec``
and differ only in how they carry it out (crun's model). The spec is plain
data: building it (from an image config and the user's flags) is the
container lifecycle's job; executing it is a backend's.

The records are namedtuples, not frozen dataclasses: ``dockpy run`` builds
its spec before the container starts, and importing ``dataclasses`` and
creating a class with it costs more than the rest of that start-up. Make a
changed copy with ``spec._replace(...)``.
"""

from __future__ import annotations

from collections import namedtuple

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


class Rlimit(namedtuple("Rlimit", "type soft hard")):
    """A resource limit to set (``RLIMIT_NOFILE``...); backends never ask for more than the host's hard limit.

    ``type`` is the name (str), ``soft`` and ``hard`` the values (int).
    """

    __slots__ = ()


# Docker daemons usually run with 1048576 open files; hosts with a lower hard limit get that instead.
DEFAULT_RLIMITS = (Rlimit("RLIMIT_NOFILE", 1048576, 1048576),)


_ProcessFields = namedtuple(
    "Process", "args env cwd user terminal interactive capabilities no_new_privileges rlimits additional_groups",
    defaults=((), "/", "", False, False, DEFAULT_CAPABILITIES, True, DEFAULT_RLIMITS, ()),
)


class Process(_ProcessFields):
    """The container's main process, after Docker's Entrypoint/Cmd/Env precedence was applied.

    ``args`` and ``env`` (``NAME=value``) are tuples of str; ``user`` is as the
    user wrote it (``""``, ``"1000"``, ``"app:staff"``): names are resolved
    inside the container's own /etc/passwd and /etc/group. ``capabilities``
    are names (``CAP_CHOWN``), ``rlimits`` a tuple of ``Rlimit``;
    ``additional_groups`` are ``--group-add``'s group names or gids (str),
    resolved in the container's /etc/group like the user.
    """

    __slots__ = ()


class RootFilesystem(
    namedtuple("RootFilesystem", "layers upperdir workdir mountpoint read_only volatile", defaults=("", False, False))
):
    """An overlay: read-only ``layers`` (paths, top-most first) under the container's writable dirs.

    ``mountpoint`` is the directory the namespace backend mounts the merged
    view on (inside the container's own mount namespace, so the host never
    sees it); a VM backend needs none. ``volatile``: the upper dir is thrown
    away with the container (``--rm``), so it need not survive a host crash
    and the overlay skips syncing it (overlayfs's ``volatile`` option).
    """

    __slots__ = ()


class VolumeMount(namedtuple("VolumeMount", "source destination read_only", defaults=(False,))):
    """``-v SOURCE:DESTINATION[:ro]``: a host path bound into the container.

    dockpy's own /etc/hosts, /etc/hostname and /etc/resolv.conf are volume
    mounts of files in the container's directory too, which keeps them out of
    the container's changes (Docker's init layer does the same).
    """

    __slots__ = ()


class TmpfsMount(namedtuple("TmpfsMount", "destination options")):
    """``--tmpfs DESTINATION[:OPTIONS]``: ``options`` are mount(8) words (``nosuid``, ``size=64m``), Docker's
    defaults already merged in (see ``tmpfs.merge_options``)."""

    __slots__ = ()


class Resources(namedtuple("Resources", "memory_bytes cpus pids_limit", defaults=(None, None, None))):
    """cgroup limits: bytes (int), CPUs (float) and processes (int); ``None`` means unlimited."""

    __slots__ = ()


NETWORK_MODES = ("none", "host")
# How a container is isolated: Linux namespaces on this kernel, or a QEMU microVM with its own (docs/kvm.md).
ISOLATION_MODES = ("namespace", "kvm")


_ContainerSpecFields = namedtuple(
    "ContainerSpec", "id rootfs process hostname network volumes resources init tmpfs",
    defaults=("none", (), Resources(), False, ()),
)


class ContainerSpec(_ContainerSpecFields):
    """Everything a backend needs to run one container.

    ``rootfs`` is a ``RootFilesystem``, ``process`` a ``Process``, ``volumes``
    a tuple of ``VolumeMount``, ``tmpfs`` one of ``TmpfsMount``, ``resources`` a ``Resources``; ``network`` is
    one of ``NETWORK_MODES``. ``init``: run a small init as PID 1 that
    forwards signals and reaps zombies, with the process as its child
    (``docker run --init``).
    """

    __slots__ = ()


def spec_to_json(spec: ContainerSpec) -> dict:
    """The spec as plain JSON values (a container's config.json), read back by ``spec_from_json``."""
    process = spec.process._asdict()
    process["rlimits"] = [rlimit._asdict() for rlimit in spec.process.rlimits]
    return {
        **spec._asdict(),
        "rootfs": spec.rootfs._asdict(),
        "process": process,
        "volumes": [volume._asdict() for volume in spec.volumes],
        "tmpfs": [mount._asdict() for mount in spec.tmpfs],
        "resources": spec.resources._asdict(),
    }


def spec_from_json(data: dict) -> ContainerSpec:
    process = dict(data["process"])
    process["rlimits"] = tuple(Rlimit(**rlimit) for rlimit in process.get("rlimits", ()))
    for key in ("args", "env", "capabilities", "additional_groups"):
        if key in process:
            process[key] = tuple(process[key])
    rootfs = dict(data["rootfs"], layers=tuple(data["rootfs"]["layers"]))
    return ContainerSpec(
        **{
            **data,
            "rootfs": RootFilesystem(**rootfs),
            "process": Process(**process),
            "volumes": tuple(VolumeMount(**volume) for volume in data.get("volumes", ())),
            "tmpfs": tuple(TmpfsMount(mount["destination"], tuple(mount["options"])) for mount in data.get("tmpfs", ())),
            "resources": Resources(**data.get("resources", {})),
        }
    )
