"""The container lifecycle through the command line: create, start, -d, logs, stop, kill, rm, wait, exec, ps."""

import json
import os
import time

import pytest

from dockpy.errors import ConflictError
from dockpy.runtime.config import RunOptions
from dockpy.runtime.images import rootfs_image
from dockpy.runtime.lifecycle import Runtime
from tests.conftest import requires_root
from tests.runtime.conftest import container_cgroups

pytestmark = requires_root

LOOP = "i=0; while :; do echo line $i; i=$((i+1)); sleep 0.1; done"


@pytest.fixture
def busybox(dockpy, busybox_rootfs, container_env):
    """``busybox("run", "-d", ..., command=[...])``: a dockpy verb on the busybox rootfs."""

    def run(verb, *options, command=("true",), check=True):
        return dockpy(verb, *options, "--rootfs", str(busybox_rootfs), *command, check=check)

    return run


@pytest.fixture
def detached(busybox, dockpy):
    """Start detached containers; each is force-removed after the test."""
    started = []

    def start(*options, command=("sh", "-c", LOOP)):
        container = busybox("run", "-d", *options, command=command).stdout.strip()
        started.append(container)
        return container

    yield start
    for container in started:
        dockpy("rm", "-f", container)


def test_create_makes_a_container_that_start_runs(busybox, dockpy):
    container = busybox("create", "--name", "later", command=("sh", "-c", "echo started")).stdout.strip()
    assert _state(dockpy, container) == "created"
    dockpy("start", "later", check=True)
    assert dockpy("wait", "later", check=True).stdout == "0\n"
    assert dockpy("logs", "later", check=True).stdout == "started\n"
    dockpy("rm", "later", check=True)


def test_detached_output_goes_to_the_log(detached, dockpy):
    container = detached()
    _eventually(lambda: "line 2" in dockpy("logs", container).stdout)


def test_logs_follow_ends_when_the_container_exits(detached, dockpy):
    container = detached(command=("sh", "-c", "echo one; sleep 0.3; echo two"))
    assert dockpy("logs", "-f", container, check=True).stdout == "one\ntwo\n"


def test_stop_kills_a_program_that_ignores_sigterm_after_the_timeout(detached, dockpy):
    container = detached(command=("sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"))
    dockpy("stop", "-t", "1", container, check=True)
    assert _record(dockpy, container)["State"]["ExitCode"] == 137


def test_stop_of_a_program_that_handles_sigterm_uses_its_exit_code(detached, dockpy):
    container = detached("--init", command=("sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done"))
    dockpy("stop", "-t", "5", container, check=True)
    assert _record(dockpy, container)["State"]["ExitCode"] == 7


def test_kill_sends_the_named_signal(detached, dockpy):
    container = detached("--init")
    dockpy("kill", "-s", "TERM", container, check=True)
    assert dockpy("wait", container, check=True).stdout == "143\n"


def test_ps_lists_running_containers_and_ps_a_also_exited_ones(busybox, detached, dockpy):
    running = detached("--name", "up")
    busybox("run", "--name", "done", command=("true",))
    assert [c["name"] for c in json.loads(dockpy("ps", "--format", "json").stdout)] == ["up"]
    listed = dockpy("ps", "-a", check=True).stdout
    assert "Exited (0)" in listed and "Up " in listed and running[:12] in listed
    dockpy("rm", "done", check=True)


def test_rm_refuses_a_running_container_unless_forced(detached, dockpy):
    container = detached()
    refused = dockpy("rm", container)
    assert refused.returncode == 125 and "cannot remove running container" in refused.stderr
    dockpy("rm", "-f", container, check=True)
    assert dockpy("ps", "-a", "-q").stdout == ""


def test_run_rm_leaves_no_container_and_no_directory(busybox, dockpy, storage_root):
    busybox("run", "--rm")
    assert dockpy("ps", "-a", "-q").stdout == ""
    assert list(storage_root.containers.iterdir()) == []


def test_a_volume_whose_host_path_is_missing_is_refused_and_leaves_no_container(busybox, dockpy, storage_root, tmp_path):
    missing = tmp_path / "missing"
    result = busybox("run", "--rm", "-v", f"{missing}:/data", check=False)
    assert result.returncode == 125
    assert result.stderr.splitlines()[0] == f"dockpy: error: bind source path does not exist: {missing}"
    assert not missing.exists()
    assert dockpy("ps", "-a", "-q").stdout == "" and list(storage_root.containers.iterdir()) == []


def test_names_are_unique(busybox, dockpy):
    busybox("create", "--name", "twin")
    second = busybox("create", "--name", "twin", check=False)
    assert second.returncode == 125 and 'name "twin" is already in use' in second.stderr
    dockpy("rm", "twin", check=True)


def test_exec_joins_the_running_containers_namespaces(detached, dockpy):
    container = detached("--hostname", "joined")
    result = dockpy("exec", container, "sh", "-c", "hostname; echo /proc/[0-9]*", check=True)
    hostname, pids = result.stdout.splitlines()
    assert hostname == "joined" and pids.startswith("/proc/1 ")


def test_exec_passes_the_exit_code_and_runs_as_the_given_user(detached, dockpy):
    container = detached()
    assert dockpy("exec", container, "sh", "-c", "exit 5").returncode == 5
    assert dockpy("exec", "-u", "app", container, "id", "-u").stdout == "1000\n"


def test_exec_in_a_stopped_container_is_refused(busybox, dockpy):
    container = busybox("create").stdout.strip()
    result = dockpy("exec", container, "true")
    assert result.returncode == 125 and "is not running" in result.stderr
    dockpy("rm", container, check=True)


def test_stats_and_inspect_report_cgroup_usage(detached, dockpy):
    container = detached("--memory", "64m")
    stats = json.loads(dockpy("stats", "--format", "json", container, check=True).stdout)[0]
    assert stats["pids"] >= 1 and stats["memory_limit_bytes"] == 64 << 20 and stats["cpu_ns"] > 0
    assert "block_read_bytes" in stats
    inspected = json.loads(dockpy("inspect", container, check=True).stdout)[0]
    assert inspected["State"]["Status"] == "running" and inspected["ResourceUsage"]["pids"] >= 1


def test_stats_takes_dockers_no_stream_and_prints_one_sample(detached, dockpy):
    container = detached()
    result = dockpy("stats", "--no-stream", container, check=True)
    header, *rows = result.stdout.splitlines()
    assert header.split()[:2] == ["CONTAINER", "ID"] and len(rows) == 1 and container.startswith(rows[0].split()[0])


def test_a_failing_detached_start_reports_like_a_foreground_one(busybox):
    result = busybox("run", "-d", command=("no-such-command",), check=False)
    assert result.returncode == 127 and "executable file not found" in result.stderr


def _record(dockpy, container) -> dict:
    return json.loads(dockpy("inspect", container, check=True).stdout)[0]


def _state(dockpy, container) -> str:
    return _record(dockpy, container)["State"]["Status"]


def _eventually(condition, attempts=100):
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition never became true")


def test_a_foreground_run_commits_the_record_before_the_program_runs(busybox_rootfs, storage_root, container_env, tmp_path):
    runtime = Runtime(storage_root)
    seen = []

    def record_then_look(record, _add=runtime.store.add):
        _add(record)
        seen.append(os.listdir(tmp_path / "out"))  # PID 1 exists by now, but its program has not run

    runtime.store.add = record_then_look
    (tmp_path / "out").mkdir()
    options = RunOptions(command=("touch", "/out/ran"), volumes=(f"{tmp_path / 'out'}:/out",))
    assert runtime.run(rootfs_image(str(busybox_rootfs)), options, auto_remove=True) == 0
    assert seen == [[]] and os.listdir(tmp_path / "out") == ["ran"]


def test_a_record_that_cannot_be_committed_stops_pid_1_and_leaves_nothing(busybox_rootfs, storage_root, container_env,
                                                                           cgroup_parent, tmp_path):
    runtime = Runtime(storage_root)

    def refuse(record):
        raise ConflictError(f'the container name "{record.name}" is already in use')

    runtime.store.add = refuse
    (tmp_path / "out").mkdir()
    options = RunOptions(command=("touch", "/out/ran"), volumes=(f"{tmp_path / 'out'}:/out",))
    with pytest.raises(ConflictError):
        runtime.run(rootfs_image(str(busybox_rootfs)), options)
    assert os.listdir(tmp_path / "out") == []
    assert list(storage_root.containers.iterdir()) == [] and container_cgroups(cgroup_parent) == []


def test_start_opens_no_database_connection_once_the_monitor_runs(busybox, dockpy, storage_root, monkeypatch):
    from dockpy import metadata

    container = busybox("create", command=("sleep", "5")).stdout.strip()
    runtime = Runtime(storage_root)
    runtime.store.get(container)  # the connection start uses to find the container
    opened = []
    monkeypatch.setattr(metadata, "open_database", lambda root, _open=metadata.open_database: opened.append(root) or _open(root))
    runtime.start(container)
    try:
        assert opened == []  # the monitor records the start through its own connection, in its own process
        assert dockpy("ps", "-q", check=True).stdout.split() == [container[:12]]
    finally:
        dockpy("rm", "-f", container, check=True)


def test_a_foreground_run_resumes_the_cycle_collector_once_the_program_runs(busybox_rootfs, storage_root, container_env):
    import gc

    from dockpy import collector

    collector.pause()  # as ``dockpy run`` does before it loads the runtime
    try:
        Runtime(storage_root).run(rootfs_image(str(busybox_rootfs)), RunOptions(command=("true",)), auto_remove=True)
        assert gc.isenabled() and gc.get_freeze_count() > 0  # what existed before is out of the collector's way
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_foreground_run_that_fails_before_its_record_is_committed_leaves_nothing(
        busybox_rootfs, storage_root, container_env, monkeypatch):
    from dockpy.errors import ContainerSetupError
    from dockpy.runtime.namespace.backend import NamespaceBackend

    def refuse(self):
        raise ContainerSetupError("the namespace runtime needs root (mounts, namespaces, cgroups)")

    monkeypatch.setattr(NamespaceBackend, "check_preconditions", refuse)
    runtime = Runtime(storage_root)
    with pytest.raises(ContainerSetupError):
        runtime.run(rootfs_image(str(busybox_rootfs)), RunOptions(command=("true",)))
    assert runtime.store.list() == [] and list(storage_root.containers.iterdir()) == []
