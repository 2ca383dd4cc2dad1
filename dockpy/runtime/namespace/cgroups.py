"""Each container's own cgroup: limits (``--memory``, ``--cpus``, ``--pids-limit``) and usage.

Hosts differ, so the layout is read, never assumed: ``/proc/cgroups`` says
which controllers are enabled and ``/proc/self/mountinfo`` where each one is
mounted. A controller may live in a v1 hierarchy of its own (``cpu`` at
/sys/fs/cgroup/cpu), in a shared v1 hierarchy (``cpu,cpuacct``) or in the v2
unified hierarchy. Hybrid hosts mix them (this development VM has v1
memory/cpu/pids plus a v2 mount holding only hugetlb); each controller is
used wherever it actually is, which is why dockpy runs where crun 1.8 refuses.

A container's cgroup is ``<hierarchy>/<parent>/<id>`` in every hierarchy that
holds a controller dockpy uses; the parent (``dockpy`` unless configured)
groups all containers, as Docker's ``/docker`` does.
"""

from __future__ import annotations

import errno
import os
import time
from collections import namedtuple

from dockpy.errors import ContainerSetupError
from dockpy.runtime.spec import Resources

DEFAULT_PARENT = "dockpy"
# Names the parent cgroup instead (tests and benchmarks keep their containers apart this way).
PARENT_ENV = "DOCKPY_CGROUP_PARENT"
# The CFS period Docker uses for --cpus: quota = cpus * period.
CPU_PERIOD_US = 100_000
# The controllers dockpy limits or reads. v1 names; v2 calls blkio "io" and folds cpuacct into cpu.
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids", "blkio", "devices")
V2_CONTROLLERS = ("memory", "cpu", "pids", "io")
# Docker's default device allowlist (v1 devices controller): mknod of anything, use of only these.
DEFAULT_ALLOWED_DEVICES = (
    "c *:* m", "b *:* m",
    "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",  # null zero full random urandom
    "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm",  # tty console ptmx
    "c 136:* rwm",  # pts
    "c 10:200 rwm",  # tun
)
# v1 limits at or above this are "unlimited" (LONG_MAX rounded down to a page).
UNLIMITED_V1 = 2**62
# rmdir of a cgroup fails with EBUSY for a moment after its last task was reaped.
RMDIR_ATTEMPTS = 50
RMDIR_RETRY_SECONDS = 0.01


def parent_from_environment() -> str:
    """The parent cgroup of dockpy's containers: ``$DOCKPY_CGROUP_PARENT``, else ``dockpy``."""
    return os.environ.get(PARENT_ENV) or DEFAULT_PARENT


class CgroupLayout(namedtuple("CgroupLayout", "v1 unified unified_controllers")):
    """Where each enabled controller is mounted on this host.

    ``v1`` maps a controller to its v1 hierarchy's mount point; ``unified`` is
    the v2 mount point (or None) and ``unified_controllers`` what it offers
    (a frozenset). The records here are namedtuples, as the spec's (see
    ``dockpy.runtime.spec``).
    """

    __slots__ = ()

    def hierarchy_of(self, controller: str) -> tuple[str, int] | None:
        """(mount point, cgroup version) holding ``controller``, or None when the host lacks it."""
        if controller in self.v1:
            return self.v1[controller], 1
        v2_name = {"blkio": "io", "cpuacct": "cpu"}.get(controller, controller)
        if self.unified and v2_name in self.unified_controllers:
            return self.unified, 2
        return None


_CgroupUsageFields = namedtuple(
    "CgroupUsage",
    "cpu_ns memory_bytes memory_limit_bytes pids block_read_bytes block_write_bytes cpu_throttled_periods",
)


class CgroupUsage(_CgroupUsageFields):
    """What ``stats``/``inspect`` show, as ``lxc-info`` does: CPU, memory, pids and block I/O (ints or None)."""

    __slots__ = ()

    def to_json(self) -> dict:
        return self._asdict()


class ContainerCgroup(namedtuple("ContainerCgroup", "directories")):
    """One container's cgroup: for each controller dockpy uses, its directory and cgroup version.

    ``directories`` maps a v1 controller name to ``(directory, version)``.
    """

    __slots__ = ()

    @property
    def unique_directories(self) -> list[str]:
        """Each directory once (``cpu`` and ``cpuacct`` often share a hierarchy), leaves first."""
        return sorted({path for path, _ in self.directories.values()}, reverse=True)

    def join(self, pid: int) -> None:
        """Move process ``pid`` (with its future children) into the cgroup in every hierarchy."""
        for directory in self.unique_directories:
            _write(os.path.join(directory, "cgroup.procs"), str(pid))

    def processes(self) -> list[int]:
        """The pids in the cgroup, as the host sees them."""
        pids: set[int] = set()
        for directory in self.unique_directories:
            pids.update(int(line) for line in _read(os.path.join(directory, "cgroup.procs")).split())
        return sorted(pids)

    def remove(self) -> None:
        """rmdir every directory; the cgroup must be empty (all its processes reaped)."""
        for directory in self.unique_directories:
            _remove_directory(directory)

    def usage(self) -> CgroupUsage:
        """Current CPU time, memory, pids and block I/O totals."""
        return CgroupUsage(
            cpu_ns=self._cpu_ns(),
            memory_bytes=self._read_int("memory", "memory.usage_in_bytes", "memory.current"),
            memory_limit_bytes=self._read_int("memory", "memory.limit_in_bytes", "memory.max"),
            pids=self._read_int("pids", "pids.current", "pids.current"),
            **self._block_io(),
            cpu_throttled_periods=self._cpu_stat().get("nr_throttled"),
        )

    def file_path(self, controller: str, v1_name: str, v2_name: str) -> str | None:
        """The file named ``v1_name`` or ``v2_name`` (whichever version holds ``controller``), or None."""
        location = self.directories.get(controller)
        if location is None:
            return None
        directory, version = location
        return os.path.join(directory, v1_name if version == 1 else v2_name)

    def _read_int(self, controller: str, v1_name: str, v2_name: str) -> int | None:
        path = self.file_path(controller, v1_name, v2_name)
        if path is None:
            return None
        text = _read(path).strip()
        # v1 spells "unlimited" as a page-rounded LONG_MAX, v2 as "max".
        return int(text) if text.isdigit() and int(text) < UNLIMITED_V1 else None

    def _cpu_ns(self) -> int | None:
        if self.directories.get("cpuacct", ("", 2))[1] == 1:
            return self._read_int("cpuacct", "cpuacct.usage", "")
        usage_usec = self._cpu_stat().get("usage_usec")
        return None if usage_usec is None else usage_usec * 1000

    def _cpu_stat(self) -> dict[str, int]:
        path = self.file_path("cpu", "cpu.stat", "cpu.stat")
        return {} if path is None else _parse_flat_keyed(_read(path))

    def _block_io(self) -> dict[str, int | None]:
        path = self.file_path("blkio", "blkio.throttle.io_service_bytes", "io.stat")
        if path is None:
            return {"block_read_bytes": None, "block_write_bytes": None}
        if self.directories["blkio"][1] == 1:
            return _sum_v1_io_service_bytes(_read(path))
        return _sum_v2_io_stat(_read(path))


def detect_layout(mountinfo: str = "/proc/self/mountinfo", proc_cgroups: str = "/proc/cgroups") -> CgroupLayout:
    """Read which controllers are enabled and where their hierarchies are mounted."""
    enabled = _enabled_controllers(_read(proc_cgroups))
    v1: dict[str, str] = {}
    unified = None
    for fstype, mount_point, super_options in _cgroup_mounts(_read(mountinfo)):
        if fstype == "cgroup2":
            unified = mount_point
            continue
        for option in super_options.split(","):
            if option in enabled and option not in v1:
                v1[option] = mount_point
    unified_controllers: frozenset[str] = frozenset()
    if unified:
        unified_controllers = frozenset(_read(os.path.join(unified, "cgroup.controllers")).split())
    return CgroupLayout(v1, unified, unified_controllers)


def container_cgroup(layout: CgroupLayout, parent: str, container_id: str) -> ContainerCgroup:
    """Where the cgroup of container ``container_id`` is (or would be), without touching it."""
    directories = {}
    for controller in V1_CONTROLLERS:
        location = layout.hierarchy_of(controller)
        if location is not None:
            mount_point, version = location
            directories[controller] = (os.path.join(mount_point, parent, container_id), version)
    return ContainerCgroup(directories)


def create_cgroup(layout: CgroupLayout, parent: str, container_id: str, resources: Resources) -> ContainerCgroup:
    """Make ``<parent>/<container_id>`` in every hierarchy dockpy uses and write the limits."""
    cgroup = container_cgroup(layout, parent, container_id)
    for directory, version in sorted(set(cgroup.directories.values())):
        if version == 2:
            _enable_v2_controllers(layout, os.path.join(layout.unified, parent))
        _make_directory(directory)
    try:
        _apply_limits(cgroup, resources)
    except ContainerSetupError:
        cgroup.remove()
        raise
    return cgroup


def warm_up_attach(layout: CgroupLayout) -> None:
    """Start now, in a thread, the wait that moving a process into a cgroup begins with.

    A move takes the kernel's cgroup threadgroup lock for writing, which first
    waits for an RCU grace period (10-20 ms on the dev VM) unless another move
    ended less than one ago. Moving dockpy into the cgroup it is already in
    changes nothing but starts that wait while dockpy records the container;
    the move of the container's PID 1 then finds it passed, or nearly. Any
    failure is ignored: this only saves time.
    """
    procs = own_procs_file(layout)
    if procs is not None:
        import _thread  # threading itself would cost more to import than the thread saves

        _thread.start_new_thread(_write_quietly, (procs, str(os.getpid())))


def own_procs_file(layout: CgroupLayout, proc_self_cgroup: str = "/proc/self/cgroup") -> str | None:
    """cgroup.procs of this process's own cgroup in one hierarchy dockpy uses (None if it uses none)."""
    for line in _read(proc_self_cgroup).splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else ():
            if controller in V1_CONTROLLERS and controller in layout.v1:
                return os.path.join(layout.v1[controller], path.lstrip("/"), "cgroup.procs")
        if not controllers and layout.unified and layout.unified_controllers:
            return os.path.join(layout.unified, path.lstrip("/"), "cgroup.procs")
    return None


def _write_quietly(path: str, value: str) -> None:
    try:
        _write(path, value)
    except ContainerSetupError:
        pass


def remove_parent(layout: CgroupLayout, parent: str) -> None:
    """rmdir the parent in every hierarchy (it must hold no container cgroups any more)."""
    mount_points = set(layout.v1.values()) | ({layout.unified} if layout.unified else set())
    for mount_point in mount_points:
        path = os.path.join(mount_point, parent)
        if os.path.isdir(path):
            _remove_directory(path)


def _apply_limits(cgroup: ContainerCgroup, resources: Resources) -> None:
    if "devices" in cgroup.directories:
        _restrict_devices(cgroup.directories["devices"][0])
    if resources.memory_bytes is not None:
        _limit_memory(cgroup, resources.memory_bytes)
    if resources.cpus is not None:
        _limit_cpus(cgroup, resources.cpus)
    if resources.pids_limit is not None:
        _write(_required_file(cgroup, "pids", "pids.max", "pids.max", "--pids-limit"), str(resources.pids_limit))


def _limit_memory(cgroup: ContainerCgroup, limit: int) -> None:
    """Docker's default ``--memory-swap`` is twice ``--memory``: as much swap again as memory."""
    _write(_required_file(cgroup, "memory", "memory.limit_in_bytes", "memory.max", "--memory"), str(limit))
    swap_file = cgroup.file_path("memory", "memory.memsw.limit_in_bytes", "memory.swap.max")
    if swap_file and os.path.exists(swap_file):
        total_swap_limit = 2 * limit if cgroup.directories["memory"][1] == 1 else limit
        _write(swap_file, str(total_swap_limit))


def _limit_cpus(cgroup: ContainerCgroup, cpus: float) -> None:
    quota = max(1000, int(cpus * CPU_PERIOD_US))  # the kernel's minimum quota is 1 ms
    directory, version = cgroup.directories.get("cpu") or (None, 0)
    if directory is None:
        raise ContainerSetupError("--cpus needs the cpu cgroup controller, which this host does not have")
    if version == 1:
        _write(os.path.join(directory, "cpu.cfs_period_us"), str(CPU_PERIOD_US))
        _write(os.path.join(directory, "cpu.cfs_quota_us"), str(quota))
    else:
        _write(os.path.join(directory, "cpu.max"), f"{quota} {CPU_PERIOD_US}")


def _restrict_devices(directory: str) -> None:
    _write(os.path.join(directory, "devices.deny"), "a")
    _write_each(os.path.join(directory, "devices.allow"), DEFAULT_ALLOWED_DEVICES)


def _required_file(cgroup: ContainerCgroup, controller: str, v1_name: str, v2_name: str, flag: str) -> str:
    path = cgroup.file_path(controller, v1_name, v2_name)
    if path is None:
        raise ContainerSetupError(f"{flag} needs the {controller} cgroup controller, which this host does not have")
    return path


def _enable_v2_controllers(layout: CgroupLayout, parent_directory: str) -> None:
    """v2 children get only the controllers their parent delegates in cgroup.subtree_control."""
    wanted = [c for c in V2_CONTROLLERS if c in layout.unified_controllers]
    _make_directory(parent_directory)
    for directory in (layout.unified, parent_directory):
        control = os.path.join(directory, "cgroup.subtree_control")
        missing = set(wanted) - set(_read(control).split())
        if missing:
            _write(control, " ".join(f"+{c}" for c in sorted(missing)))


def _make_directory(path: str) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise ContainerSetupError(f"create cgroup {path}: {error.strerror}") from error


def _remove_directory(path: str) -> None:
    for attempt in range(RMDIR_ATTEMPTS):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as error:
            if error.errno != errno.EBUSY or attempt == RMDIR_ATTEMPTS - 1:
                raise ContainerSetupError(f"remove cgroup {path}: {error.strerror}") from error
            time.sleep(RMDIR_RETRY_SECONDS)


def _write(path: str, value: str) -> None:
    _write_each(path, (value,))


def _write_each(path: str, values: tuple[str, ...]) -> None:
    """Write each value to a cgroup file with a ``write`` of its own, all through one open file.

    The kernel takes one value per ``write`` (a device rule, a pid); one
    open for the twelve device rules instead of twelve took their 0.42 ms
    to 0.10.
    """
    value = values[0]
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            for value in values:
                os.write(fd, value.encode())
        finally:
            os.close(fd)
    except OSError as error:
        raise ContainerSetupError(f"write {value!r} to {path}: {error.strerror}") from error


def _read(path: str) -> str:
    try:
        with open(path) as file:
            return file.read()
    except FileNotFoundError:
        return ""


def _enabled_controllers(proc_cgroups: str) -> set[str]:
    """``/proc/cgroups``: ``subsys_name hierarchy num_cgroups enabled`` per line."""
    enabled = set()
    for line in proc_cgroups.splitlines():
        fields = line.split()
        if len(fields) == 4 and not line.startswith("#") and fields[3] == "1":
            enabled.add(fields[0])
    return enabled


def _cgroup_mounts(mountinfo: str) -> list[tuple[str, str, str]]:
    """(fstype, mount point, super options) of every cgroup/cgroup2 mount in ``mountinfo``."""
    mounts = []
    for line in mountinfo.splitlines():
        before, _, after = line.partition(" - ")
        fstype, _, rest = after.partition(" ")
        if fstype in ("cgroup", "cgroup2"):
            mount_point = before.split(" ")[4].replace("\\040", " ")
            super_options = rest.split(" ")[1] if " " in rest else ""
            mounts.append((fstype, mount_point, super_options))
    return mounts


def _parse_flat_keyed(text: str) -> dict[str, int]:
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            values[key] = int(value)
    return values


def _sum_v1_io_service_bytes(text: str) -> dict[str, int]:
    """``MAJ:MIN Read N`` / ``MAJ:MIN Write N`` lines, summed over devices."""
    totals = {"Read": 0, "Write": 0}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in totals:
            totals[fields[1]] += int(fields[2])
    return {"block_read_bytes": totals["Read"], "block_write_bytes": totals["Write"]}


def _sum_v2_io_stat(text: str) -> dict[str, int]:
    """``MAJ:MIN rbytes=N wbytes=N ...`` lines, summed over devices."""
    totals = {"rbytes": 0, "wbytes": 0}
    for line in text.splitlines():
        for field in line.split()[1:]:
            key, _, value = field.partition("=")
            if key in totals and value.isdigit():
                totals[key] += int(value)
    return {"block_read_bytes": totals["rbytes"], "block_write_bytes": totals["wbytes"]}
