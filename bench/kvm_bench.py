"""How long ``dockpy run --isolation kvm --rm busybox true`` takes against a bare QEMU boot of the same kernel and initramfs.

Usage (as root; about 4 x N boots)::

    python bench/kvm_bench.py [--runs N] [--json bench/out/kvm.json] [--no-record]

Measures, side by side and interleaved (one of each per round, so a change in
the machine's load hits all alike), min / median / max of N each:

- ``bare``: QEMU with the same machine, kernel and cached initramfs, whose
  /init powers off at once (``dockpy.probe``): the floor of any run, and the
  reference of the ratios;
- ``KvmBackend.run`` of ``true`` on a one-layer busybox image, from the call
  to its return (EROFS image and initramfs already cached, as for any run
  after the first);
- the issue's command, ``dockpy run --isolation kvm --rm busybox true``, as a
  user runs it: the backend's run plus Python's start, the container's record
  and its removal;
- ``dockpy run --rm busybox true`` in the namespace mode, for scale;

then the breakdown of a backend run (median of three traced runs), from the
guest's own clock: kernel boot until /init, module loading, mounting the
root, the process, power-off; and the host's share (setup before QEMU, QEMU
start and exit, teardown).
The result replaces this benchmark's section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench.* and this checkout's dockpy

from bench.harness import REPO, Timing, compile_bytecode, dockpy_command, format_table, interleaved, record  # noqa: E402
from bench.run_bench import import_image, remove_cgroup_parent  # noqa: E402
from dockpy.image.templates import build_busybox_rootfs  # noqa: E402
from dockpy.root import StorageRoot  # noqa: E402
from dockpy.runtime.kvm import kernel, layer_archive, qemu  # noqa: E402
from dockpy.runtime.kvm.backend import KvmBackend, host_tsc_khz, kernel_cmdline  # noqa: E402
from dockpy.runtime.kvm.rundir import RunDirectory  # noqa: E402
from dockpy.runtime.spec import ContainerSpec, Process, RootFilesystem  # noqa: E402

TITLE = "KVM isolation: run of `true` vs a bare QEMU boot (TCG)"
TARGET = "`dockpy run --isolation kvm` ≤ 1.15× the bare boot of the same kernel and initramfs"


def container_spec(directory: Path, layer: Path, name: str) -> ContainerSpec:
    container = directory / name
    (container / "upper").mkdir(parents=True)
    (container / "work").mkdir()
    return ContainerSpec(
        id=name,
        rootfs=RootFilesystem(layers=(str(layer),), upperdir=str(container / "upper"), workdir=str(container / "work")),
        process=Process(args=("true",), env=("PATH=/bin",)),
        hostname="bench",
    )


class Operations:
    """The measured operations on one scratch directory; each call is one timed run."""

    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.layer = scratch / "rootfs"
        self.layer.mkdir()
        build_busybox_rootfs(self.layer)
        self.root = StorageRoot(scratch / "root").create()
        self.backend = KvmBackend(self.root, warn=lambda message: None)
        self.env = {**os.environ, "DOCKPY_ROOT": str(self.root.path), "PYTHONPATH": str(REPO),
                    "DOCKPY_CGROUP_PARENT": f"dockpy-bench-{os.getpid()}"}
        import_image(self.layer, self.env)
        RunDirectory(scratch / "bare").create()  # the control port's FIFO and file, as for a run
        self._count = 0

    def backend_run(self) -> None:
        self._count += 1
        code = self.backend.run(container_spec(self.scratch, self.layer, f"bench{self._count}"))
        assert code == 0, f"true exited {code}"

    def bare_boot(self) -> None:
        tools = self.backend.check()
        accel = self.backend.acceleration()
        config = qemu.VmConfig(
            kernel=kernel.boot_image(tools.kernel, self.backend.cache_dir),
            initrd=self.backend.base_initramfs(),
            cmdline=kernel_cmdline(accel, host_tsc_khz()) + " dockpy.probe",
            accelerator=accel.accelerator,
        )
        subprocess.run(qemu.qemu_argv(tools.qemu, config), cwd=self.scratch / "bare", check=True, stdin=subprocess.DEVNULL)

    def cli_run(self, *isolation: str) -> Callable[[], None]:
        argv = dockpy_command("run", *isolation, "--rm", "busybox", "true")
        return lambda: subprocess.run(argv, env=self.env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def layer_placement(self) -> str:
        """How the image's one layer reaches the guest (``layer_archive.py``): in the initrd or as a disk."""
        size = sum(path.lstat().st_size for path in self.layer.rglob("*")) / (1 << 20)
        where = "in the initrd" if layer_archive.layer_archive(self.layer) is not None else "as an EROFS disk"
        return f"the busybox image's one layer ({size:.1f} MB) travels {where}"

    def last_bare_guest_uptime(self) -> float:
        """How long the guest of the last bare boot ran: the rest of its wall time is QEMU's start and exit."""
        return guest_power_off_time(self.scratch / "bare" / "console.log")


def guest_power_off_time(console_log: Path) -> float:
    """The guest's uptime when it powered off."""
    return float(re.findall(r"\[\s*([\d.]+)\] reboot: Power down", console_log.read_text(errors="replace"))[-1])


TRACED_RUNS = 3


def median_breakdown(operations: Operations) -> dict[str, float]:
    runs = [traced_breakdown(operations, f"traced{index}") for index in range(TRACED_RUNS)]
    return {phase: statistics.median(run[phase] for run in runs) for phase in runs[0]}


def traced_breakdown(operations: Operations, name: str) -> dict[str, float]:
    """One backend run with /init's milestones on the console, on the same warm storage root."""
    trace = operations.scratch / "console.log"
    backend = KvmBackend(operations.root, warn=lambda message: None, trace_to=trace)
    start = time.perf_counter()
    backend.run(container_spec(operations.scratch, operations.layer, name))
    wall = time.perf_counter() - start
    text = trace.read_text(errors="replace")
    marks = {name: float(uptime) for uptime, name in re.findall(r"\[\s*([\d.]+)\] dockpy-trace ([\w-]+)", text)}
    reported = marks["reported"]  # the host ends QEMU at the report: the guest does not power off
    return {
        "kernel boot until /init": marks["init"],
        "loading modules": marks["modules-loaded"] - marks["init"],
        "mounting root and volumes": marks["mounted"] - marks["modules-loaded"],
        "user, workdir, start process": marks["process-started"] - marks["mounted"],
        "process (true)": marks["process-exited"] - marks["process-started"],
        "output counts and report": reported - marks["process-exited"],
        "host: setup, QEMU start, its end at the report, teardown": wall - reported,
        "total (wall)": wall,
    }


def measure(scratch: Path, runs: int) -> tuple[list[Timing], Timing, dict[str, float], str, str]:
    operations = Operations(scratch)
    guest_uptimes = []

    def bare_boot() -> None:
        operations.bare_boot()
        guest_uptimes.append(operations.last_bare_guest_uptime())

    timings = interleaved({
        "bare QEMU boot, same kernel and initramfs (reference)": bare_boot,
        "`KvmBackend.run` of `true`": operations.backend_run,
        "`dockpy run --isolation kvm --rm busybox true`": operations.cli_run("--isolation", "kvm"),
        "`dockpy run --rm busybox true` (namespace mode)": operations.cli_run(),
    }, runs)  # fmt: skip
    bare = timings[0]
    qemu_share = Timing("  of the bare boot: QEMU's own start and exit",
                        tuple(wall - guest for wall, guest in zip(bare.seconds, guest_uptimes[1:])))  # [0]: the warm-up
    breakdown = median_breakdown(operations)
    accelerator = operations.backend.acceleration().accelerator
    remove_cgroup_parent(operations.env["DOCKPY_CGROUP_PARENT"])
    return timings, qemu_share, breakdown, accelerator, operations.layer_placement()


def report_body(timings: list[Timing], qemu_share: Timing, breakdown: dict[str, float], accelerator: str, placement: str) -> str:
    bare = timings[0]
    table = format_table([*timings, qemu_share], reference=bare, target=TARGET)
    backend, command = timings[1], timings[2]
    lines = [f"Accelerator: {accelerator}; {placement}. Best case against the best bare boot (min / min): "
             f"`KvmBackend.run` {backend.minimum / bare.minimum:.2f}×, the command {command.minimum / bare.minimum:.2f}×. "
             f"Median of the per-round ratios (each run against the bare boot of its own round, which cancels the "
             f"host's drift between rounds): `KvmBackend.run` {paired_ratio(bare, backend):.2f}×, "
             f"the command {paired_ratio(bare, command):.2f}×.",
             "", table, "",
             f"| phase of a traced `KvmBackend.run` (guest clock; median of {TRACED_RUNS}) | s |", "|---|---|"]
    lines += [f"| {phase} | {seconds:.3f} |" for phase, seconds in breakdown.items()]
    lines += ["", "CPU of the kvm rows: a run that ends at the guest's report leaves QEMU's reaping to a thread "
              "(or, once dockpy has exited, to init), so QEMU's CPU time is mostly missing there.",
              "", "Where the time goes and why ≤ 0.5 s is reachable with real KVM: docs/kvm.md."]
    return "\n".join(lines)


def paired_ratio(reference: Timing, timing: Timing) -> float:
    """The median over rounds of ``timing``'s run divided by the reference's run of the same round."""
    return statistics.median(mine / theirs for mine, theirs in zip(timing.seconds, reference.seconds))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-record", action="store_true", help="print only; leave BENCHMARKS.md alone")
    options = parser.parse_args()
    if os.geteuid() != 0:
        print("kvm_bench.py needs root (virtiofsd, namespaces)", file=sys.stderr)
        return 2
    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="kvm-bench-", dir="/var/tmp") as scratch:
        timings, qemu_share, breakdown, accelerator, placement = measure(Path(scratch), options.runs)
    body = report_body(timings, qemu_share, breakdown, accelerator, placement)
    if options.json:
        figures = {timing.operation: {"seconds": timing.seconds, "cpu_seconds": timing.cpu_seconds}
                   for timing in (*timings, qemu_share)}
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps({"accelerator": accelerator, "layer": placement, "timings": figures, "breakdown_s": breakdown}, indent=1) + "\n")
    if options.no_record:
        print(body)
    else:
        record(TITLE, f"python bench/kvm_bench.py --runs {options.runs}", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
