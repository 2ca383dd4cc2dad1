"""``--isolation kvm`` through the ``dockpy`` command, as a user runs it (real microVMs, TCG here).

Each VM boot costs seconds under TCG, so the module shares one storage root
(its cached initramfs, vmlinux, acceleration verdict and EROFS layer images)
and boots eight VMs in all: a foreground run, a run whose write is
committed, a detached one that is stopped, a foreground one that is
stopped from another process, one whose dockpy is killed during the boot,
one whose name is taken during the boot, and two on a terminal (``-it`` and ``-t``).
"""

from __future__ import annotations

import json
import os
import platform
import pty
import time

import pytest

from dockpy.errors import PrerequisiteError
from dockpy.root import StorageRoot
from dockpy.runtime.kvm.backend import KvmBackend

IMAGE = "busybox-kvm:latest"
# Generous: a loaded host under TCG may take a minute to boot; the loop ends as soon as the output shows.
LOG_WAIT_SECONDS = 300


@pytest.fixture(scope="module")
def env(tmp_path_factory, cgroup_parent) -> dict:
    """DOCKPY_ROOT for this module's storage root; skips where the kvm backend cannot run."""
    if os.geteuid() != 0:
        pytest.skip("needs root (virtiofsd shares the container's upper dir with trusted.* xattrs)")
    root = StorageRoot(tmp_path_factory.mktemp("kvm-cli-root")).create()
    try:
        KvmBackend(root).check()
    except PrerequisiteError as error:
        pytest.skip(f"kvm backend unavailable: {error}")
    return {"DOCKPY_ROOT": str(root.path), "DOCKPY_CGROUP_PARENT": cgroup_parent}


@pytest.fixture(scope="module")
def image(env, busybox_tar) -> str:
    from tests.conftest import run_dockpy

    run_dockpy("import", str(busybox_tar), IMAGE, env=env, check=True)
    return IMAGE


@pytest.fixture
def dockpy_in(env):
    from tests.conftest import run_dockpy

    return lambda *args, **kwargs: run_dockpy(*args, env={**env, **kwargs.pop("env", {})}, timeout=600, **kwargs)


def _without_warnings(stderr: str) -> list[str]:
    """stderr's lines but dockpy's own warnings (the TCG fallback is announced on every run)."""
    return [line for line in stderr.splitlines() if not line.startswith("dockpy: warning:")]


def _container_ids(dockpy_in) -> list[str]:
    return dockpy_in("ps", "-a", "-q", check=True).stdout.split()


def test_run_keeps_stdout_and_stderr_apart_and_passes_the_exit_code(dockpy_in, image):
    before = _container_ids(dockpy_in)
    result = dockpy_in("run", "--rm", "--isolation", "kvm", image, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (result.returncode, result.stdout) == (3, "out\n"), result.stderr
    assert _without_warnings(result.stderr) == ["err"]
    assert _container_ids(dockpy_in) == before  # --rm removed it


def test_output_into_a_file_stays_in_order_with_what_the_shell_writes_after_it(env, image, tmp_path):
    """``{ dockpy run ...; echo host; } > log``: the shell's later write must not overwrite the guest's output."""
    import subprocess
    import sys

    log = tmp_path / "log"
    script = f'{{ "{sys.executable}" -m dockpy run --rm --isolation kvm {image} echo guest; echo host; }} > "{log}" 2>/dev/null'
    subprocess.run(["sh", "-c", script], env={**os.environ, **env}, check=True, timeout=600)
    assert log.read_text() == "guest\nhost\n"


def test_a_write_in_the_vm_shows_in_diff_and_is_committed(dockpy_in, image):
    dockpy_in("run", "--name", "vm-writer", "--isolation", "kvm", image, "sh", "-c", "uname -r > /made-in-vm", check=True)
    assert "A /made-in-vm" in dockpy_in("diff", "vm-writer", check=True).stdout.splitlines()
    dockpy_in("commit", "vm-writer", "from-vm:1", check=True)
    seen = dockpy_in("run", "--rm", "from-vm:1", "cat", "/made-in-vm", check=True)  # namespace mode
    assert seen.stdout.strip() not in ("", platform.release())  # written under the guest's own kernel


def test_detached_vm_logs_refuses_exec_and_stops(dockpy_in, image):
    started = dockpy_in("run", "-d", "--isolation", "kvm", image, "sh", "-c", "echo started; while :; do sleep 1; done", check=True)
    container = started.stdout.strip()
    try:
        assert _wait_for_log(dockpy_in, container, "started\n")
        assert container[:12] in dockpy_in("ps", "-q", check=True).stdout.split()
        refused = dockpy_in("exec", container, "true")
        assert refused.returncode == 125
        assert refused.stderr.startswith("dockpy: error: exec is not available") and "--isolation kvm" in refused.stderr
        dockpy_in("stop", "-t", "60", container, check=True)
        assert dockpy_in("wait", container, check=True).stdout == "143\n"  # the shell died of the forwarded SIGTERM
        assert container[:12] not in dockpy_in("ps", "-q", check=True).stdout.split()
    finally:
        dockpy_in("rm", "-f", container)


def _wait_for_log(dockpy_in, container: str, expected: str) -> bool:
    deadline = time.monotonic() + LOG_WAIT_SECONDS
    while time.monotonic() < deadline:
        if dockpy_in("logs", container, check=True).stdout == expected:
            return True
        time.sleep(0.5)
    return False


@pytest.mark.parametrize("command", ["run", "create"])
def test_a_missing_kernel_is_one_error_line_and_no_container(dockpy_in, image, command):
    before = _container_ids(dockpy_in)
    result = dockpy_in(command, "--isolation", "kvm", image, "true", env={"DOCKPY_KERNEL": "/nonexistent"})
    assert result.returncode == 125
    assert result.stderr.splitlines() == ["dockpy: error: DOCKPY_KERNEL=/nonexistent: no such kernel file"]
    assert _container_ids(dockpy_in) == before


def test_host_network_is_refused_with_kvm_before_anything_is_made(dockpy_in, image):
    before = _container_ids(dockpy_in)
    result = dockpy_in("run", "--isolation", "kvm", "--network", "host", image, "true")
    assert result.returncode == 125
    assert result.stderr.splitlines() == ["dockpy: error: --network host is not available with --isolation kvm (only none)"]
    assert _container_ids(dockpy_in) == before


def _run_on_a_terminal(env: dict, *args: str, typed: bytes, after: bytes) -> tuple[int, str]:
    """``dockpy ARGS`` with a new pty as its stdin, stdout and stderr, as in a user's shell; the user types
    ``typed`` once the terminal shows ``after``. Returns the exit code and everything the terminal showed."""
    import select
    import subprocess
    import sys

    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "dockpy", *args], stdin=terminal, stdout=terminal,
                                   stderr=terminal, env={**os.environ, **env}, start_new_session=True)
    finally:
        os.close(terminal)
    shown = b""
    try:
        while select.select([controller], [], [], LOG_WAIT_SECONDS)[0]:
            chunk = os.read(controller, 4096)  # EIO once dockpy, the last holder of the terminal, has exited
            if not chunk:
                break
            if after not in shown and after in shown + chunk:
                os.write(controller, typed)
            shown += chunk
    except OSError:
        pass
    finally:
        os.close(controller)
    return process.wait(timeout=LOG_WAIT_SECONDS), shown.decode(errors="replace")


# Reads a line for at most N seconds: the input must arrive by then, or show that none arrives.
SHOW_TTY_AND_READ = 'tty; read -t {} line; echo "read [$line]"; exit 4'


def test_it_gives_the_process_the_console_as_its_terminal_and_passes_input(env, image):
    code, shown = _run_on_a_terminal(env, "run", "--rm", "--isolation", "kvm", "-it", image, "sh", "-c", SHOW_TTY_AND_READ.format(10),
                                     typed=b"typed\r", after=b"/dev/console\r\n")  # the whole line: an echo could land before its end
    assert code == 4, shown
    lines = _without_warnings(shown.replace("\r\n", "\n"))
    assert lines[0] == "/dev/console" and "read [typed]" in lines
    assert "\r\r\n" not in shown  # the guest's tty ends lines with "\r\n"; the host's pty adds nothing


def test_t_without_i_is_a_terminal_that_gets_no_input(env, image):
    code, shown = _run_on_a_terminal(env, "run", "--rm", "--isolation", "kvm", "-t", image, "sh", "-c", SHOW_TTY_AND_READ.format(2),
                                     typed=b"typed\n", after=b"/dev/console")
    assert code == 4, shown
    assert "/dev/console" in shown and "read []" in shown


def test_inspect_shows_the_isolation_where_docker_and_podman_do(dockpy_in, image):
    import json

    containers = {isolation: dockpy_in("create", "--isolation", isolation, image, "true", check=True).stdout.strip()
                  for isolation in ("kvm", "namespace")}
    try:
        for isolation, container in containers.items():
            document = json.loads(dockpy_in("inspect", container, check=True).stdout)[0]
            assert document["HostConfig"]["Isolation"] == isolation
    finally:
        dockpy_in("rm", *containers.values())


def _start_dockpy(env: dict, *args: str):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "dockpy", *args], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _eventually(condition) -> bool:
    deadline = time.monotonic() + LOG_WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_foreground_vm_is_listed_while_it_runs_and_stops_from_another_shell(env, dockpy_in, image):
    """The record is written while the guest boots: ``ps`` shows the container, ``stop`` finds its VM."""
    running = _start_dockpy(env, "run", "--name", "vm-in-front", "--isolation", "kvm", image, "sh", "-c", "while :; do sleep 1; done")
    try:
        assert _eventually(lambda: "vm-in-front" in dockpy_in("ps", "--format", "{{.Names}}", check=True).stdout.split())
        dockpy_in("stop", "-t", "60", "vm-in-front", check=True)
        assert running.wait(timeout=LOG_WAIT_SECONDS) == 143
    finally:
        running.kill()
        dockpy_in("rm", "-f", "vm-in-front")


def test_killing_dockpy_while_its_vm_boots_leaves_no_vm_and_a_clean_store(env, dockpy_in, image):
    """SIGKILL as soon as QEMU runs, whether or not the record is written yet: QEMU and virtiofsd die with
    dockpy, ``fsck`` stays clean and every container listed still has its directory."""
    import glob
    import signal

    root = env["DOCKPY_ROOT"]
    before = set(glob.glob(f"{root}/kvm/run/*"))
    running = _start_dockpy(env, "run", "--rm", "--isolation", "kvm", image, "true")
    try:
        assert _eventually(lambda: _new_run_directories(root, before, "qemu.pid") or running.poll() is not None)
    finally:
        running.send_signal(signal.SIGKILL)
        running.wait()
    run_directories = _new_run_directories(root, before, "")
    assert _eventually(lambda: not _processes_working_in(run_directories))
    dockpy_in("fsck", check=True)
    listed = json.loads(dockpy_in("ps", "-a", "--format", "json", check=True).stdout)
    assert all(os.path.isdir(f"{root}/containers/{container['id']}") for container in listed)
    for container in listed:
        dockpy_in("rm", "-f", container["id"])


def _new_run_directories(root: str, before: set, containing: str) -> list[str]:
    import glob

    return [path for path in glob.glob(f"{root}/kvm/run/*") if path not in before and os.path.exists(os.path.join(path, containing))]


def _processes_working_in(directories: list[str]) -> list[int]:
    """QEMU and virtiofsd run with the VM's run directory as their working directory."""
    pids = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{entry}/cwd") in directories:
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def test_a_name_taken_while_the_vm_boots_is_one_error_line_and_leaves_nothing(env, dockpy_in, image):
    """Another ``create`` takes the name between our check and our commit (simulated: the commit is refused):
    the VM is killed, its directory is removed only after that, and the name is the one error reported."""
    import glob
    import subprocess
    import sys

    root = env["DOCKPY_ROOT"]
    before = set(glob.glob(f"{root}/kvm/run/*")), set(os.listdir(f"{root}/containers"))
    code = (
        "import sys\n"
        "from dockpy.errors import ConflictError\n"
        "from dockpy.runtime.containers import ContainerStore\n"
        "def taken(store, record):\n"
        "    raise ConflictError('the container name \"raced\" is already in use')\n"
        "ContainerStore.add = taken\n"
        "from dockpy.cli import main\n"
        f"sys.exit(main(['run', '--name', 'raced', '--isolation', 'kvm', {image!r}, 'true']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                            timeout=LOG_WAIT_SECONDS)
    assert result.returncode == 125
    assert _without_warnings(result.stderr) == ['dockpy: error: the container name "raced" is already in use']
    assert set(os.listdir(f"{root}/containers")) == before[1]
    assert _new_run_directories(root, before[0], "") == []
