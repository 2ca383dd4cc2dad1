"""How fast does ``dockpy`` start? ``--help`` and ``--version`` against bare Python.

Target (issue 2): at most 80 ms on the reference machine, where ``python3 -c pass``
takes about 37 ms. Run: ``.venv/bin/python bench/startup_bench.py``.
"""

from __future__ import annotations

import sys

from harness import compile_bytecode, dockpy_command, format_table, record, time_command

RUNS = 20


def main() -> None:
    compile_bytecode()
    python = time_command("python3 -c pass", [sys.executable, "-c", "pass"], runs=RUNS)
    timings = [
        python,
        time_command("dockpy --version", dockpy_command("--version"), runs=RUNS),
        time_command("dockpy --help", dockpy_command("--help"), runs=RUNS),
    ]
    record("Start-up: dockpy --help and --version", "python bench/startup_bench.py",
           format_table(timings, reference=python, target="--help and --version ≤ 80 ms median"))


if __name__ == "__main__":
    main()
