"""``dockpy diff CONTAINER`` and ``dockpy commit`` of a 10 MiB change, against bare Python.

A busybox image is imported into a scratch storage root (as in
``run_bench.py``). ``diff`` lists the changes of a container that added,
changed and removed a few paths. ``commit`` makes an image of a container
that wrote 10 MiB of random bytes (incompressible, so the layer blob is
10 MiB too); each timed commit gets a fresh container (made untimed), so
every commit stores new blobs, as a real one does.

podman and Docker do the same on the same image (written by ``dockpy save``
and loaded into a private store of each, bench/peer_engines.py; dockerd is
started for the benchmark and stopped after it): the same two containers,
``diff`` of the first, ``commit`` of a fresh second one each time. Peers that
are not installed are skipped. Needs root.

    python bench/versioning_bench.py [--runs N] [--no-record]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench.harness and this checkout's dockpy

from bench.harness import REPO, compile_bytecode, container_benchmark_main, dockpy_command, time_command  # noqa: E402
from bench.run_bench import import_image, remove_cgroup_parent  # noqa: E402
from dockpy.image.templates import build_busybox_rootfs  # noqa: E402

TITLE = "Container versions: dockpy diff CONTAINER and dockpy commit"
TARGET = "diff ≤ 45 ms, commit of a 10 MiB change ≤ 100 ms median"
CHANGES = "echo hi > /etc/motd; mkdir -p /srv/app/data; touch /srv/app/data/f /srv/g; rm /bin/ls"
TEN_MIB_OF_RANDOM_BYTES = "head -c 10485760 /dev/urandom > /data"


def main() -> int:
    return container_benchmark_main(__doc__.splitlines()[0], "versioning_bench.py", TITLE, TARGET, run_all)


def run_all(scratch: Path, runs: int):
    env = {"DOCKPY_ROOT": str(scratch / "root"), "DOCKPY_CGROUP_PARENT": f"dockpy-bench-{os.getpid()}",
           "PYTHONPATH": str(REPO)}
    compile_bytecode()
    rootfs = scratch / "rootfs"
    rootfs.mkdir()
    build_busybox_rootfs(rootfs)
    import_image(rootfs, env)
    dockpy(env, "run", "--name", "changed", "busybox", "sh", "-c", CHANGES)

    def fresh_container_with_a_10_mib_change() -> None:
        dockpy(env, "rm", "-f", "big", check=False)  # the first time there is none
        dockpy(env, "run", "--name", "big", "busybox", "sh", "-c", TEN_MIB_OF_RANDOM_BYTES)

    timings = [
        time_command("python3 -c pass", [sys.executable, "-c", "pass"], runs=runs),
        time_command("dockpy diff CONTAINER (5 changes)", dockpy_command("diff", "changed"), runs=runs, env=env),
        time_command("dockpy commit CONTAINER (10 MiB change)", dockpy_command("commit", "big"), runs=runs, env=env,
                     setup=fresh_container_with_a_10_mib_change),
    ]
    dockpy(env, "rm", "-f", "big", "changed")
    timings += engine_timings(scratch, env, runs)
    remove_cgroup_parent(env["DOCKPY_CGROUP_PARENT"])
    return timings


def engine_timings(scratch: Path, env: dict, runs: int):
    """podman's and Docker's diff and commit of the same two containers, each engine on a private store."""
    from bench.peer_engines import time_installed_engines

    return time_installed_engines(scratch, env, runs, podman_rows, docker_rows)


def podman_rows(podman, parent: str, runs: int):
    label = f"podman {podman.version()}"
    return engine_diff_and_commit(["podman"], "localhost/busybox", label, podman.env, parent, runs)


def docker_rows(docker: list[str], parent: str, runs: int):
    from bench.peer_engines import docker_version

    return engine_diff_and_commit(docker, "busybox", f"docker {docker_version(docker)}", {}, parent, runs)


def engine_diff_and_commit(engine: list[str], image: str, label: str, env: dict, parent: str, runs: int):
    """``diff`` and ``commit`` rows for a Docker-compatible CLI (``engine``), the scenario dockpy's rows time.

    ``commit -q`` for podman, whose ``commit`` otherwise reports its copy's progress; Docker's prints the id only.
    """
    def engine_run(*args: str) -> None:
        subprocess.run([*engine, *args], env={**os.environ, **env}, check=True, capture_output=True)

    def fresh_container_with_a_10_mib_change() -> None:
        subprocess.run([*engine, "rm", "-f", "big"], env={**os.environ, **env}, capture_output=True)
        engine_run("run", "--network", "none", "--cgroup-parent", parent, "--name", "big", image,
                   "sh", "-c", TEN_MIB_OF_RANDOM_BYTES)

    engine_run("run", "--network", "none", "--cgroup-parent", parent, "--name", "changed", image, "sh", "-c", CHANGES)
    quiet = ["-q"] if engine == ["podman"] else []
    timings = [
        time_command(f"{label} diff CONTAINER (5 changes)", [*engine, "diff", "changed"], runs=runs, env=env),
        time_command(f"{label} commit CONTAINER (10 MiB change)", [*engine, "commit", *quiet, "big"],
                     runs=runs, env=env, setup=fresh_container_with_a_10_mib_change),
    ]
    engine_run("rm", "-f", "big", "changed")
    return timings


def dockpy(env: dict, *args: str, check: bool = True) -> None:
    subprocess.run(dockpy_command(*args), env={**os.environ, **env}, check=check, capture_output=True)


if __name__ == "__main__":
    raise SystemExit(main())
