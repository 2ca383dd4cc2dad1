"""--memory, --pids-limit and --cpus act on the program (not only on cgroup files)."""

import json

from tests.conftest import requires_root
from tests.runtime.conftest import container_cgroups

pytestmark = requires_root


def test_a_memory_limit_oom_kills_the_program_with_exit_137(run_in_busybox):
    # awk doubles a string until the memory limit stops it.
    result = run_in_busybox("awk", "BEGIN { s = \"x\"; while (1) s = s s }", options=["--memory", "16m"])
    assert result.returncode == 137


def test_a_pids_limit_stops_a_fork_bomb(run_in_busybox):
    # The bomb runs in a subshell (busybox sh gives up when a fork fails); the count uses builtins only.
    script = "(while :; do sleep 5 & done) 2>/dev/null; set -- /proc/[0-9]*; echo $#"
    result = run_in_busybox("sh", "-c", script, options=["--pids-limit", "10", "--init"])
    assert result.returncode == 0, result.stderr
    assert 2 < int(result.stdout) <= 10


def test_cpus_sets_the_cfs_quota_and_throttles_a_busy_loop(dockpy, busybox_rootfs, container_env):
    started = dockpy("run", "-d", "--cpus", "0.1", "--rootfs", str(busybox_rootfs), "sh", "-c", "while :; do :; done", check=True)
    container = started.stdout.strip()
    try:
        _wait_for_throttling(dockpy, container)
        host_config = json.loads(dockpy("inspect", container, check=True).stdout)[0]["HostConfig"]
        assert host_config["NanoCpus"] == 100_000_000
        assert _cpu_quota(dockpy, container) == 10000
    finally:
        dockpy("rm", "-f", container, check=True)


def _wait_for_throttling(dockpy, container, attempts=100):
    """The busy loop is throttled once CFS has cut it off in some period (the counter, not wall time)."""
    import time

    for _ in range(attempts):
        usage = json.loads(dockpy("inspect", container, check=True).stdout)[0]["ResourceUsage"]
        if usage["cpu_throttled_periods"]:
            return
        time.sleep(0.05)
    raise AssertionError("the busy loop was never throttled")


def _cpu_quota(dockpy, container) -> int:
    from dockpy.runtime.lifecycle import Runtime

    runtime = Runtime()
    cgroup = runtime.cgroup_of(runtime.store.get(container))
    directory, version = cgroup.directories["cpu"]
    name = "cpu.cfs_quota_us" if version == 1 else "cpu.max"
    with open(f"{directory}/{name}") as file:
        return int(file.read().split()[0])


def test_a_limit_the_kernel_refuses_fails_the_run_and_leaves_no_cgroup_or_container(
        run_in_busybox, dockpy, container_env, cgroup_parent):
    # The cgroup is made once PID 1 exists (it builds its root meanwhile): a refusal must still undo both.
    result = run_in_busybox("true", options=["--cpus", "1e10"])  # a quota above the kernel's maximum
    assert result.returncode == 125
    assert "cpu.cfs_quota_us" in result.stderr or "cpu.max" in result.stderr
    assert container_cgroups(cgroup_parent) == []
    assert dockpy("ps", "-a", "-q", check=True).stdout == ""

