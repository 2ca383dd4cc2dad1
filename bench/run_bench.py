"""``dockpy run --rm IMAGE true`` against crun, runc, podman, Docker and the bare namespace floor, side by side.

All run the same busybox root filesystem (Debian's busybox-static): dockpy
as an image imported into a scratch storage root; crun and runc as an OCI
bundle of that rootfs (``runc spec`` + args ``/bin/true``); podman and Docker
as the same image, written by ``dockpy save`` and loaded into a private store
of each (bench/peer_engines.py; dockerd is started for the benchmark and
stopped after it); the floor is
``unshare -fpmnuiC --mount-proc chroot ROOTFS /bin/true``. crun 1.8 refuses
this VM's hybrid cgroup layout, so it runs as ../shared/peers/40-bench-run.sh
runs it: in a private mount namespace with /sys/fs/cgroup/unified unmounted.
podman runs with runc, as the peers' configuration has it. Their CPU column
is the client's alone: conmon, dockerd, containerd and the shims are not
processes the client waits for. Peers that are not installed are skipped,
and their rows left out. Needs root.

    python bench/run_bench.py [--runs N] [--no-record]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench.harness and this checkout's dockpy

from bench.harness import compile_bytecode, container_benchmark_main, dockpy_command, time_command  # noqa: E402
from bench.peer_engines import docker_version, time_installed_engines  # noqa: E402
from dockpy.image.templates import build_busybox_rootfs  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TITLE = "dockpy run --rm IMAGE true"
# What `run` imports from the standard library: the command line, the record, the spec, the syscalls.
STDLIB_OF_RUN = "argparse, sqlite3, json, ctypes, signal"
TARGET = "dockpy median <= 50 ms (crun 13 ms, runc 31 ms, docker 128 ms, podman 150 ms measured by ../shared/peers)"


def main() -> int:
    return container_benchmark_main(__doc__.splitlines()[0], "run_bench.py", TITLE, TARGET, run_all)


def run_all(scratch: Path, runs: int):
    # PYTHONPATH: the console script of a shared venv must run this checkout's dockpy.
    env = {"DOCKPY_ROOT": str(scratch / "root"), "DOCKPY_CGROUP_PARENT": f"dockpy-bench-{os.getpid()}",
           "PYTHONPATH": str(REPO)}
    compile_bytecode()
    bundle = make_bundle(scratch / "bundle")
    import_image(bundle / "rootfs", env)
    timings = [time_command("dockpy run --rm busybox true", dockpy_command("run", "--rm", "busybox", "true"),
                            runs=runs, env=env)]
    # The interpreter's own start, which every dockpy command pays before its first line runs.
    timings.append(time_command("  python3 -c pass (dockpy's interpreter)", [sys.executable, "-c", "pass"], runs=runs))
    # The floor of any Python CLI doing run's job: the interpreter and the standard library that job needs.
    timings.append(time_command(f"  python3 -c 'import {STDLIB_OF_RUN}'", [sys.executable, "-c", f"import {STDLIB_OF_RUN}"],
                                runs=runs))
    timings += peer_timings(bundle, runs)
    timings += engine_timings(scratch, env, runs)
    remove_cgroup_parent(env["DOCKPY_CGROUP_PARENT"])
    return timings


def make_bundle(bundle: Path) -> Path:
    """An OCI bundle of the busybox rootfs running /bin/true, made with ``runc spec`` when runc is there."""
    rootfs = bundle / "rootfs"
    rootfs.mkdir(parents=True)
    build_busybox_rootfs(rootfs)
    if shutil.which("runc"):
        subprocess.run(["runc", "spec"], cwd=bundle, check=True)
        config = json.loads((bundle / "config.json").read_text())
        config["process"].update(terminal=False, args=["/bin/true"])
        (bundle / "config.json").write_text(json.dumps(config))
    return bundle


def import_image(rootfs: Path, env: dict) -> None:
    tar = subprocess.run(["tar", "-C", str(rootfs), "-cf", "-", "."], check=True, capture_output=True).stdout
    subprocess.run(dockpy_command("import", "-", "busybox:latest"), input=tar, check=True,
                   env={**os.environ, **env}, capture_output=True)


def peer_timings(bundle: Path, runs: int):
    timings = []
    if shutil.which("crun") and (bundle / "config.json").exists():
        crun = f"unshare -m sh -c 'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec crun run --bundle {bundle} bench-crun-$$'"
        timings.append(time_command("crun run (in unshare -m wrapper)", crun, runs=runs, shell=True))
        wrapper = "unshare -m sh -c 'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec true'"
        timings.append(time_command("  wrapper alone", wrapper, runs=runs, shell=True))
    if shutil.which("runc") and (bundle / "config.json").exists():
        timings.append(time_command("runc run", f"runc run --bundle {bundle} bench-runc-$$", runs=runs, shell=True))
    floor = ["unshare", "-fpmnuiC", "--mount-proc", "chroot", str(bundle / "rootfs"), "/bin/true"]
    timings.append(time_command("floor: unshare -fpmnuiC chroot rootfs true", floor, runs=runs))
    return timings


def engine_timings(scratch: Path, env: dict, runs: int):
    """podman and Docker running the image dockpy runs, each from its own store, in a cgroup parent of ours."""
    return time_installed_engines(scratch, env, runs, podman_rows, docker_rows)


def podman_rows(podman, parent: str, runs: int):
    run = ["podman", "run", "--rm", "--network", "none", "--cgroup-parent", parent, "localhost/busybox", "true"]
    return [time_command(f"podman {podman.version()} run --rm --network none (runc; CPU: podman's own)", run,
                         runs=runs, env=podman.env)]


def docker_rows(docker: list[str], parent: str, runs: int):
    """Both rows give the container loopback only: dockerd runs without a bridge (tests/docker_daemon.py), so its
    default network is an empty namespace runc makes; with ``--network none`` Docker's libnetwork makes it."""
    label = f"docker {docker_version(docker)} run --rm"
    run = [*docker, "run", "--rm", "--cgroup-parent", parent]
    return [time_command(f"{label} (no bridge; CPU: the client's own)", [*run, "busybox", "true"], runs=runs),
            time_command(f"{label} --network none", [*run, "--network", "none", "busybox", "true"], runs=runs)]


def remove_cgroup_parent(parent: str) -> None:
    from dockpy.runtime.namespace.cgroups import detect_layout, remove_parent

    remove_parent(detect_layout(), parent)


if __name__ == "__main__":
    raise SystemExit(main())
