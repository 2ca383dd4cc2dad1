"""The timing harness every benchmark under bench/ uses.

Timings are whole-process wall seconds (min / median / max of N runs, after
one untimed warm-up), compared side by side *in the same run* as ratios, so a
busy machine moves both sides alike. Each run's CPU time (user + system, of
the command and every process it waited for) is recorded too: on a machine
shared with other jobs, wall time measures the neighbours as much as the
command, CPU time much less so. ``record`` writes a section into
BENCHMARKS.md keyed by its title: re-running a benchmark replaces its own
section and leaves the others alone.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS_FILE = REPO / "BENCHMARKS.md"


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of repeated runs of one operation, and the CPU seconds of each run."""

    operation: str
    seconds: tuple[float, ...]
    cpu_seconds: tuple[float, ...] = ()

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def minimum(self) -> float:
        return min(self.seconds)

    @property
    def maximum(self) -> float:
        return max(self.seconds)

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_seconds) if self.cpu_seconds else None


def time_callable(operation: str, run: Callable[[], object], *, runs: int = 5,
                  setup: Callable[[], object] | None = None, warmup: bool = True, own_cpu: bool = True) -> Timing:
    """Time ``run()`` ``runs`` times; ``setup()`` runs untimed before each.

    CPU time counts the processes ``run`` waited for and, with ``own_cpu``,
    this process's own (a command's CPU is its process's alone).
    """
    if warmup:
        if setup:
            setup()
        run()
    samples, cpu_samples = [], []
    for _ in range(runs):
        if setup:
            setup()
        cpu_before = _cpu_seconds(own_cpu)
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
        cpu_samples.append(_cpu_seconds(own_cpu) - cpu_before)
    return Timing(operation, tuple(samples), tuple(cpu_samples))


def interleaved(operations: dict[str, Callable[[], object]], runs: int, own_cpu: bool = True) -> list[Timing]:
    """Each operation once per round (after one untimed round), so that whatever the machine does meanwhile
    falls on every operation alike; wall and CPU seconds as ``time_callable`` counts them."""
    for run in operations.values():
        run()
    samples = {name: ([], []) for name in operations}
    for _ in range(runs):
        for name, run in operations.items():
            cpu_before, start = _cpu_seconds(own_cpu), time.perf_counter()
            run()
            samples[name][0].append(time.perf_counter() - start)
            samples[name][1].append(_cpu_seconds(own_cpu) - cpu_before)
    return [Timing(name, tuple(wall), tuple(cpu)) for name, (wall, cpu) in samples.items()]


def command_runner(argv: Sequence[str], *, env: dict | None = None, shell: bool = False) -> Callable[[], None]:
    """A callable running a command that must succeed, with this checkout's dockpy on PYTHONPATH (see ``time_command``)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}

    def run():
        subprocess.run(argv, env=full_env, check=True, shell=shell,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    return run


def _cpu_seconds(own: bool) -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = children.ru_utime + children.ru_stime
    return total + time.process_time() if own else total


def time_command(operation: str, argv: Sequence[str], *, runs: int = 5, env: dict | None = None,
                 setup: Callable[[], object] | None = None, shell: bool = False) -> Timing:
    """Time a command; it must succeed (a failing benchmark is not a fast one).

    PYTHONPATH points at this checkout, so the venv's console script runs this
    dockpy (every command gets it, so a Python reference pays the same).
    """
    return time_callable(operation, command_runner(argv, env=env, shell=shell), runs=runs, setup=setup, own_cpu=False)


def compile_bytecode() -> None:
    """Users' dockpy has its bytecode cached; a benchmark must not time the compiler
    (nor skip writing bytecode because PYTHONDONTWRITEBYTECODE is set in the shell)."""
    import compileall

    compileall.compile_dir(str(REPO / "dockpy"), quiet=1)


def dockpy_command(*args: str) -> list[str]:
    """How benchmarks invoke dockpy: the installed console script, as a user would."""
    script = Path(sys.executable).with_name("dockpy")
    return [str(script) if script.exists() else sys.executable, *([] if script.exists() else ["-m", "dockpy"]), *args]


def machine_description() -> str:
    load1, _, _ = os.getloadavg()
    kernel = platform.release()
    cpus = os.cpu_count()
    return f"{platform.node() or 'host'}: {cpus} cores, Linux {kernel}, Python {platform.python_version()}, loadavg {load1:.2f}"


def format_table(timings: Sequence[Timing], reference: Timing | None = None, target: str = "") -> str:
    """A markdown table; with ``reference``, a column of median ratios against it (wall time)."""
    with_cpu = any(timing.cpu_seconds for timing in timings)
    header = "| operation | n | min s | median s | max s |" + (" CPU median s |" if with_cpu else "")
    header += " ratio |" if reference else ""
    lines = [header, "|---" * header.count(" |") + "|"]
    for timing in timings:
        row = (f"| {timing.operation} | {len(timing.seconds)} | {timing.minimum:.4f} | "
               f"{timing.median:.4f} | {timing.maximum:.4f} |")
        if with_cpu:
            row += f" {timing.cpu_median:.4f} |" if timing.cpu_seconds else " |"
        if reference:
            row += f" {timing.median / reference.median:.2f}× |"
        lines.append(row)
    if target:
        lines.append("")
        lines.append(f"Target: {target}")
    return "\n".join(lines)


def record(title: str, command: str, body: str) -> None:
    """Print the section and replace (or append) it in BENCHMARKS.md."""
    section = (f"## {title}\n\n"
               f"Command: `{command}`  \n"
               f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine_description()}\n\n"
               f"{body.rstrip()}\n")
    print(section)
    text = BENCHMARKS_FILE.read_text() if BENCHMARKS_FILE.exists() else _BENCHMARKS_PREAMBLE
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + section
    BENCHMARKS_FILE.write_text(text)


_BENCHMARKS_PREAMBLE = """# Benchmarks

Each section below was written by the script named in its command line; re-run
that command to refresh it. Timings are wall seconds of whole operations, and
every comparison was measured side by side in the same run. Peer figures
(podman, buildah, BuildKit, crun) for this machine are in
`../shared/peers/results/`.
"""


def container_benchmark_main(description: str, script: str, title: str, target: str, run_all) -> int:
    """The command line of a benchmark that needs root and a scratch directory.

    ``run_all(scratch, runs)`` returns timings, the first being dockpy's (the ratio reference).
    """
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-record", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print(f"{script} needs root (namespaces, mounts, cgroups)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix=f"dockpy-{Path(script).stem}-") as scratch:
        timings = run_all(Path(scratch), args.runs)
    body = format_table(timings, reference=timings[0], target=target)
    if args.no_record:
        print(body)
    else:
        record(title, f"python bench/{script}", body)
    return 0
