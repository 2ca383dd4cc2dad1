"""How long ``run --isolation kvm ... true`` takes against a bare QEMU boot of the same kernel and initramfs.

Usage (as root; about 2 x N boots)::

    python bench/kvm_bench.py [--runs N] [--json bench/out/kvm.json]

Measures, min and median of N each, side by side in one run:

- ``backend``: ``KvmBackend.run`` of ``true`` on a one-layer busybox image,
  from the call to its return (EROFS image and initramfs already cached, as
  for any run after the first);
- ``bare``: QEMU with the same machine, kernel and cached initramfs, whose
  /init powers off at once (``dockpy.probe``): the floor of any run;
- the breakdown of one traced backend run, from the guest's own clock:
  kernel boot until /init, module loading, mounting the root, the process,
  power-off; and the host's share (setup before QEMU, QEMU start, teardown).

The namespace mode is measured by the runtime's own bench; the CLI figures
(``dockpy run --isolation kvm``) add Python start-up to ``backend``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dockpy.root import StorageRoot  # noqa: E402
from dockpy.runtime.kvm import initramfs, kernel, qemu  # noqa: E402
from dockpy.runtime.kvm.backend import KvmBackend, host_tsc_khz, kernel_cmdline  # noqa: E402
from dockpy.runtime.spec import ContainerSpec, Process, RootFilesystem  # noqa: E402


def busybox_layer(directory: Path) -> Path:
    layer = directory / "layer"
    (layer / "bin").mkdir(parents=True)
    (layer / "etc").mkdir()
    shutil.copy(initramfs.find_busybox(), layer / "bin/busybox")
    for applet in ("sh", "true"):
        (layer / "bin" / applet).symlink_to("busybox")
    (layer / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    return layer


def container_spec(directory: Path, layer: Path, index: int) -> ContainerSpec:
    container = directory / f"container{index}"
    (container / "upper").mkdir(parents=True)
    (container / "work").mkdir()
    return ContainerSpec(
        id=f"bench{index}",
        rootfs=RootFilesystem(layers=(str(layer),), upperdir=str(container / "upper"), workdir=str(container / "work")),
        process=Process(args=("true",), env=("PATH=/bin",)),
        hostname="bench",
    )


def time_backend_run(backend: KvmBackend, spec: ContainerSpec) -> float:
    start = time.perf_counter()
    code = backend.run(spec)
    elapsed = time.perf_counter() - start
    assert code == 0, f"true exited {code}"
    return elapsed


def time_bare_boot(backend: KvmBackend, workdir: Path) -> float:
    tools = backend.check()
    accel = backend.acceleration()
    config = qemu.VmConfig(
        kernel=kernel.boot_image(tools.kernel, backend.cache_dir),
        initrd=initramfs.cached_initramfs(tools.kernel, backend.cache_dir),
        cmdline=kernel_cmdline(accel, host_tsc_khz()) + " dockpy.probe",
        accelerator=accel.accelerator,
    )
    if not (workdir / "signal").exists():
        os.mkfifo(workdir / "signal")  # the signal port's FIFO, as a run directory has
    start = time.perf_counter()
    subprocess.run(qemu.qemu_argv(tools.qemu, config), cwd=workdir, check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def guest_power_off_time(console_log: Path) -> float:
    """The guest's uptime when it powered off: the wall time minus this is QEMU's own start and exit."""
    return float(re.findall(r"\[\s*([\d.]+)\] reboot: Power down", console_log.read_text(errors="replace"))[-1])


def traced_breakdown(directory: Path, layer: Path) -> dict[str, float]:
    trace = directory / "console.log"
    backend = KvmBackend(StorageRoot(directory / "root-traced").create(), warn=lambda message: None, trace_to=trace)
    spec = container_spec(directory, layer, 999)
    wall = time_backend_run(backend, spec)
    text = trace.read_text(errors="replace")
    marks = {name: float(uptime) for uptime, name in re.findall(r"dockpy-trace ([\d.]+) ([\w-]+)", text)}
    power_off = guest_power_off_time(trace)
    return {
        "kernel boot until /init": marks["init"],
        "loading modules": marks["modules-loaded"] - marks["init"],
        "mounting root and volumes": marks["mounted"] - marks["modules-loaded"],
        "user, workdir, start process": marks["process-started"] - marks["mounted"],
        "process (true)": marks["process-exited"] - marks["process-started"],
        "report and power off": power_off - marks["process-exited"],
        "host: setup, QEMU start and exit, teardown": wall - power_off,
        "total (wall)": wall,
    }


def summary(samples: list[float]) -> dict[str, float]:
    return {"min": round(min(samples), 3), "median": round(statistics.median(samples), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kvm-bench-", dir="/var/tmp") as scratch:
        directory = Path(scratch)
        layer = busybox_layer(directory)
        backend = KvmBackend(StorageRoot(directory / "root").create(), warn=lambda message: None)
        time_backend_run(backend, container_spec(directory, layer, 0))  # builds and caches images
        (directory / "bare").mkdir()
        backend_times, bare_times, bare_qemu_times = [], [], []
        for index in range(1, options.runs + 1):  # interleaved, so background load hits both alike
            backend_times.append(time_backend_run(backend, container_spec(directory, layer, index)))
            bare_times.append(time_bare_boot(backend, directory / "bare"))
            bare_qemu_times.append(bare_times[-1] - guest_power_off_time(directory / "bare" / "console.log"))
        breakdown = traced_breakdown(directory, layer)
        results = {
            "accelerator": backend.acceleration().accelerator,
            "runs": options.runs,
            "backend_run_true_s": summary(backend_times),
            "bare_boot_s": summary(bare_times),
            "bare_boot_qemu_start_and_exit_s": summary(bare_qemu_times),
            "ratio_median": round(statistics.median(backend_times) / statistics.median(bare_times), 3),
            "ratio_min": round(min(backend_times) / min(bare_times), 3),
            "breakdown_s": {name: round(value, 3) for name, value in breakdown.items()},
        }
    print(json.dumps(results, indent=1))
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
