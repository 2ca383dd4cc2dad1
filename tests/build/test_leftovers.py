"""A build killed with SIGKILL in the middle of a RUN leaves only what ``dockpy gc`` removes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from dockpy.layers.mounts import mount_points_below
from dockpy.layers.snapshots import Snapshotter
from tests.conftest import run_dockpy

DOCKERFILE = "FROM busybox\nRUN --mount=type=tmpfs,target=/t,size=1m echo started && sleep 2\n"


def start_build_and_kill_it_mid_run(root, context) -> None:
    """``dockpy build`` until its RUN has printed ``started``, then SIGKILL (no cleanup can run)."""
    build = subprocess.Popen([sys.executable, "-m", "dockpy", "--root", str(root.path), "build", "--progress", "plain",
                              str(context)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        for line in build.stderr:
            if line.strip().endswith(" started") and not line.startswith("#2 ["):
                break
        else:
            raise AssertionError("the build ended before its RUN started")
        os.kill(build.pid, signal.SIGKILL)
    finally:
        build.wait()
        build.stderr.close()


def leftover_snapshots(root) -> list[str]:
    with Snapshotter(root) as snapshotter:
        return [s.name for s in snapshotter.walk() if s.name.startswith("build-")]


def run_step_cgroups(parent: str) -> list[str]:
    from dockpy.runtime.namespace import cgroups
    from tests.conftest import _cgroup_children

    return [path for path in _cgroup_children(cgroups.detect_layout(), parent)
            if os.path.basename(path).startswith("build-run-")]


def test_gc_removes_what_a_build_killed_mid_run_left_and_fsck_finds_the_store_sound(build_root, tmp_path,
                                                                                     cgroup_parent):
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE)
    start_build_and_kill_it_mid_run(build_root, context)
    assert any(path.name.startswith("build-") for path in build_root.tmp.iterdir())
    assert mount_points_below(build_root.tmp), "the RUN's tmpfs stays mounted after the kill"
    assert leftover_snapshots(build_root)
    assert run_step_cgroups(cgroup_parent), "the killed RUN's cgroup stays until gc"

    run_dockpy("--root", str(build_root.path), "gc", check=True)

    assert not [path.name for path in build_root.tmp.iterdir() if path.name.startswith("build-")]
    assert not mount_points_below(build_root.path)
    assert not leftover_snapshots(build_root)
    assert not run_step_cgroups(cgroup_parent)
    run_dockpy("--root", str(build_root.path), "fsck", check=True)


def processes_running(command_line: bytes) -> list[int]:
    """Host pids whose command line is ``command_line`` (NUL-separated, as /proc shows it)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if entry.isdigit() and cmdline.read() == command_line:
                    found.append(int(entry))
        except OSError:
            pass  # not a process, or it ended meanwhile
    return found


@pytest.mark.parametrize("user", ["root", "65534"])
def test_a_killed_build_takes_its_run_step_down_with_it(build_root, tmp_path, user):
    # A user other than root too: changing credentials clears a parent-death signal set before.
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM busybox\nUSER {user}\nRUN echo started && sleep 3117\n")
    try:
        start_build_and_kill_it_mid_run(build_root, context)
        deadline = time.monotonic() + 10
        while processes_running(b"sleep\x003117\x00") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not processes_running(b"sleep\x003117\x00")
    finally:
        for pid in processes_running(b"sleep\x003117\x00"):
            os.kill(pid, signal.SIGKILL)
        run_dockpy("--root", str(build_root.path), "gc", check=True)
