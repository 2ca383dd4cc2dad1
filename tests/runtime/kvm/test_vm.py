"""The kvm backend end to end: real microVMs (TCG here), each boot shared by the tests that read it.

Boots are expensive (1.5-2 s each under TCG), so the "probe" VM reports many
facts at once (crun's style) and several tests assert on its report.
"""

from __future__ import annotations

import os
import platform
import pty
import stat
import subprocess
import sys
import threading
import time

import pytest

from dockpy.errors import ContainerSetupError
from dockpy.runtime.spec import Resources, VolumeMount
from tests.runtime.kvm.conftest import make_spec_in

PROBE_SCRIPT = """
echo "kernel=$(uname -r)"
echo "uid=$(id -u)"
echo "gid=$(id -g)"
echo "cwd=$(pwd)"
echo "foo=$FOO"
echo "home=$HOME"
echo "hostname=$(hostname)"
echo "layer2=$(cat /etc/layer2)"
echo "keep=$(cat /etc/keep)"
[ -e /etc/gone ] && echo "gone=present" || echo "gone=absent"
[ -e /opt/old ] && echo "opaque=leaked" || echo "opaque=hidden"
echo "cpus=$(nproc)"
echo "memory_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
echo "loopback=$(ip -o -4 addr show dev lo up)"
"""


@pytest.fixture(scope="module")
def probe_report(backend, image_layers, tmp_path_factory) -> dict[str, str]:
    """One VM running PROBE_SCRIPT as user ``app`` in /work with FOO=bar, 2 CPUs and 300 MB."""
    spec = make_spec_in(
        tmp_path_factory.mktemp("probe"),
        image_layers,
        "sh", "-c", PROBE_SCRIPT,
        env=("PATH=/bin", "FOO=bar"), cwd="/work", user="app",
        resources=Resources(memory_bytes=300 << 20, cpus=2),
    )  # fmt: skip
    out = tmp_path_factory.mktemp("probe-out") / "stdout"
    with open(out, "wb") as stdout:
        code = backend.run(spec, stdout=stdout, timeout=300)
    assert code == 0, out.read_text()
    return dict(line.split("=", 1) for line in out.read_text().splitlines())


def test_guest_runs_its_own_kernel(probe_report):
    assert probe_report["kernel"] != platform.release()
    assert probe_report["kernel"].endswith("-amd64")


def test_user_name_resolves_through_the_image_passwd(probe_report):
    assert (probe_report["uid"], probe_report["gid"]) == ("1000", "1000")
    assert probe_report["home"] == "/home/app"


def test_environment_and_missing_workdir_are_applied(probe_report):
    assert probe_report["foo"] == "bar"
    assert probe_report["cwd"] == "/work"


def test_hostname_is_the_containers(probe_report):
    assert probe_report["hostname"] == "kvm-test"


def test_layers_stack_with_whiteouts_and_opaque_dirs(probe_report):
    assert (probe_report["layer2"], probe_report["keep"]) == ("from the top layer", "from the base layer")
    assert probe_report["gone"] == "absent"
    assert probe_report["opaque"] == "hidden"


def test_the_loopback_interface_is_up_with_its_address(probe_report):
    assert "inet 127.0.0.1/8" in probe_report["loopback"]


def test_cpus_and_memory_size_the_guest(probe_report):
    assert probe_report["cpus"] == str(min(2, os.cpu_count()))
    assert 250_000 < int(probe_report["memory_kb"]) <= 300 * 1024


def test_stdout_and_stderr_are_separate_and_binary_safe(run_vm, make_spec, backend):
    payload = bytes(range(256)) * 64
    spec = make_spec("sh", "-c", "printf '%b' \"$DATA\"; printf 'to stderr\\0\\n' >&2; exit 7", env=("PATH=/bin", "DATA=" + "".join(f"\\0{byte:03o}" for byte in payload)))
    code, out, err = run_vm(spec)
    assert code == 7
    assert out == payload
    assert err == b"to stderr\0\n"


def test_tcg_fallback_warns_once_per_run(run_vm, make_spec, backend):
    before = len(backend.warnings)
    run_vm(make_spec("true"))
    new = backend.warnings[before:]
    if backend.acceleration().is_emulated:
        assert len(new) == 1 and "using TCG emulation" in new[0]
    else:
        assert new == []


def test_writes_land_in_the_upper_dir_in_overlay_form(run_vm, make_spec):
    spec = make_spec("sh", "-c", "echo new > /etc/added && rm /etc/keep && rm -r /bin/../opt && mkdir /opt && echo x > /opt/fresh")
    code, _, err = run_vm(spec)
    assert code == 0, err
    upper = spec.rootfs.upperdir
    assert open(f"{upper}/etc/added").read() == "new\n"
    whiteout = os.lstat(f"{upper}/etc/keep")
    assert (os.major(whiteout.st_rdev), os.minor(whiteout.st_rdev)) == (0, 0) and whiteout.st_mode & 0o170000 == 0o020000
    assert os.getxattr(f"{upper}/opt", "trusted.overlay.opaque") == b"y"
    assert os.listdir(f"{upper}/opt") == ["fresh"]


def test_a_read_only_root_without_volumes_boots_without_the_virtiofs_modules(run_vm, make_spec):
    spec = make_spec("sh", "-c", "cut -d' ' -f1 /proc/modules; touch /new")
    code, out, _ = run_vm(spec._replace(rootfs=spec.rootfs._replace(read_only=True)))
    modules = out.decode().split()
    assert code == 1  # touch: the root is read-only
    assert "overlay" in modules and "fuse" not in modules and "virtiofs" not in modules
    assert os.listdir(spec.rootfs.upperdir) == []


def test_an_image_of_small_layers_comes_in_the_initrd_without_disks(run_vm, image_layers, tmp_path):
    """Layers without extended attributes unpack from the initrd; their whiteouts still hide the layers below."""
    top = tmp_path / "small-top"
    (top / "etc").mkdir(parents=True)
    (top / "etc/layer2").write_text("from a small top layer\n")
    os.mknod(top / "etc/gone", 0o600 | stat.S_IFCHR, os.makedev(0, 0))
    script = "cut -d' ' -f1 /proc/modules; cat /etc/layer2 /etc/keep; [ -e /etc/gone ] || echo gone-is-hidden"
    spec = make_spec_in(tmp_path / "container", (str(top), image_layers[1]), "sh", "-c", script)
    code, out, err = run_vm(spec)
    assert code == 0, err
    lines = out.decode().splitlines()
    assert "virtio_blk" not in lines and "erofs" not in lines and "overlay" in lines
    assert lines[-3:] == ["from a small top layer", "from the base layer", "gone-is-hidden"]


def test_missing_command_exits_127(run_vm, make_spec):
    code, _, err = run_vm(make_spec("no-such-command"))
    assert code == 127
    assert err == b'exec: "no-such-command": executable file not found in $PATH\n'


def test_a_command_missing_from_the_image_does_not_run_the_guests_busybox(run_vm, make_spec):
    code, out, _ = run_vm(make_spec("rev", env=("PATH=/usr/bin",)))  # a busybox applet, but not in the image's /usr/bin
    assert (code, out) == (127, b"")


def test_a_relative_path_entry_is_looked_up_from_the_working_directory(run_vm, make_spec):
    code, out, err = run_vm(make_spec("echo", "found", env=("PATH=/nowhere:bin",), cwd="/"))
    assert (code, out) == (0, b"found\n"), err


def test_a_command_runs_the_images_program_even_where_busybox_has_that_applet(run_vm, image_layers, tmp_path):
    top = tmp_path / "own-true"
    (top / "usr/bin").mkdir(parents=True)
    (top / "usr/bin/true").write_text("#!/bin/sh\necho \"the image's own true, as $0\"\n")
    (top / "usr/bin/true").chmod(0o755)
    spec = make_spec_in(tmp_path / "container", (str(top), image_layers[1]), "true", env=("PATH=/usr/bin:/bin",))
    code, out, _ = run_vm(spec)
    assert (code, out) == (0, b"the image's own true, as /usr/bin/true\n")


def test_non_executable_command_exits_126(run_vm, make_spec):
    code, _, _ = run_vm(make_spec("/bin/not-executable"))
    assert code == 126


def test_stdin_is_passed_with_end_of_file(run_vm, make_spec):
    code, out, _ = run_vm(make_spec("sh", "-c", "cat; echo end", interactive=True), stdin=b"line one\nline two\n")
    assert code == 0
    assert out == b"line one\nline two\nend\n"


def test_terminal_gives_the_process_a_tty(backend, make_spec):
    controller, terminal = pty.openpty()
    try:
        spec = make_spec("sh", "-c", "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && exit 5; exit 1", terminal=True, interactive=True)
        assert backend.run(spec, stdin=terminal, stdout=terminal, stderr=terminal, timeout=300) == 5
    finally:
        os.close(controller)
        os.close(terminal)


def test_unknown_user_is_a_setup_error(run_vm, make_spec):
    with pytest.raises(ContainerSetupError, match="unable to find user nobody-here"):
        run_vm(make_spec("true", user="nobody-here"))


def test_volumes_are_shared_read_write_and_read_only(run_vm, make_spec, tmp_path):
    writable, readable = tmp_path / "rw", tmp_path / "ro"
    writable.mkdir()
    readable.mkdir()
    (readable / "input").write_text("host data\n")
    volumes = (VolumeMount(str(writable), "/data"), VolumeMount(str(readable), "/in", read_only=True))
    spec = make_spec("sh", "-c", "cat /in/input > /data/copy; touch /in/nope 2>/dev/null && echo ro-broken; true", volumes=volumes)
    code, out, err = run_vm(spec)
    assert code == 0, err
    assert (writable / "copy").read_text() == "host data\n"
    assert not (readable / "nope").exists()
    assert out == b""


def test_two_vms_run_at_once(backend, make_spec, tmp_path):
    results = {}
    specs = {name: make_spec("sh", "-c", f"sleep 1; echo {name}") for name in ("first", "second")}

    def run(name):
        with open(tmp_path / name, "wb") as out:
            results[name] = backend.run(specs[name], stdout=out, timeout=300)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"first": 0, "second": 0}
    assert (tmp_path / "first").read_text() == "first\n" and (tmp_path / "second").read_text() == "second\n"


def test_stop_ends_a_hanging_command_and_leaves_nothing_running(backend, make_spec, tmp_path):
    spec = make_spec("sh", "-c", "echo started; exec sleep 600")
    out = tmp_path / "out"
    result = {}

    def run():
        with open(out, "wb") as stdout:
            result["code"] = backend.run(spec, stdout=stdout, timeout=600)

    thread = threading.Thread(target=run)
    thread.start()
    _wait_until(lambda: out.exists() and b"started" in out.read_bytes())
    pid = backend.run_directory(spec.id).running_pid()
    backend.stop(spec.id, timeout=30)
    thread.join(60)
    assert result["code"] == 143  # SIGTERM reached the process in the guest
    assert not os.path.exists(f"/proc/{pid}")
    assert not backend.run_directory(spec.id).path.exists()


def _wait_until(condition, seconds=240):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the VM did not start its process in time"
        time.sleep(0.1)


KILLED_DOCKPY = """
import sys
from pathlib import Path
from dockpy.root import StorageRoot
from dockpy.runtime.kvm.backend import KvmBackend
from dockpy.runtime.spec import ContainerSpec, Process, RootFilesystem
container = Path(sys.argv[2])
spec = ContainerSpec(
    id="killed-dockpy",
    rootfs=RootFilesystem(layers=tuple(sys.argv[3:]), upperdir=str(container / "upper"), workdir=str(container / "work")),
    process=Process(args=("sleep", "600"), env=("PATH=/bin",)),
    hostname="h",
)
KvmBackend(StorageRoot(Path(sys.argv[1])), warn=lambda message: None).run(spec)
"""


def test_killing_dockpy_takes_its_vm_down(backend, image_layers, tmp_path):
    """SIGKILL gives dockpy no chance to clean up: the kernel's parent-death signal ends QEMU and virtiofsd."""
    container = make_spec_in(tmp_path / "container", image_layers, "true").rootfs.upperdir.rsplit("/", 1)[0]
    rundir = backend.run_directory("killed-dockpy")
    dockpy = subprocess.Popen([sys.executable, "-c", KILLED_DOCKPY, str(backend.root.path), container, *image_layers])
    try:
        # QEMU and the upper dir's virtiofsd, both children of the dockpy process.
        _wait_until(lambda: rundir.running_pid() is not None or dockpy.poll() is not None)
        _wait_until(lambda: len(_children_of(dockpy.pid)) == 2 or dockpy.poll() is not None)
        helpers = _children_of(dockpy.pid)
        assert rundir.running_pid() in helpers and len(helpers) == 2
    finally:
        dockpy.kill()
        dockpy.wait()
    _wait_until(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in helpers), seconds=30)
    rundir.remove()


def _children_of(parent: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat_file:
                    fields = stat_file.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:  # the field after the state is the parent's pid
                pids.append(int(entry))
    return pids


def _read_slowly(read_end: int, into: bytearray) -> None:
    """A reader that falls behind: it starts after the VM has likely reported, then takes 4 KB every 2 ms."""
    time.sleep(2)
    with open(read_end, "rb", buffering=0) as pipe:
        while chunk := pipe.read(4096):
            into += chunk
            time.sleep(0.002)


def test_a_slow_reader_gets_every_byte_of_stdout_and_stderr(backend, make_spec):
    spec = make_spec("sh", "-c", "head -c 2500000 /dev/urandom > /out; head -c 1500000 /dev/urandom > /err; cat /out; cat /err >&2; exit 3")
    (out_read, out_write), (err_read, err_write) = os.pipe(), os.pipe()
    out, err = bytearray(), bytearray()
    readers = [threading.Thread(target=_read_slowly, args=pair) for pair in ((out_read, out), (err_read, err))]
    for reader in readers:
        reader.start()
    try:
        code = backend.run(spec, stdout=out_write, stderr=err_write, timeout=300)
    finally:
        os.close(out_write)
        os.close(err_write)
        for reader in readers:
            reader.join()
    assert code == 3
    assert bytes(out) == open(f"{spec.rootfs.upperdir}/out", "rb").read()
    assert bytes(err) == open(f"{spec.rootfs.upperdir}/err", "rb").read()
