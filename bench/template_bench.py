"""What does a ``--format`` template cost ``ps``? Templates against ``ps``'s own table, side by side.

Target: a Go template, even one with actions, functions and pipes, keeps ``ps``
within 10% of the plain table (the template is lexed and parsed by hand at
every call; lark is never imported). The root holds 50 exited containers.
Run: ``.venv/bin/python bench/template_bench.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from harness import command_runner, compile_bytecode, dockpy_command, format_table, interleaved, record

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RUNS = 20
CONTAINERS = 50
FIELDS = "{{.ID}}\\t{{.Names}}\\t{{.Status}}"
ACTIONS = ('table {{.ID}}\\t{{if eq .State "exited"}}{{.Status | upper}}{{else}}up{{end}}\\t'
           '{{printf "%-12s" .Names}}\\t{{with .Image}}{{truncate . 8}}{{end}}')


def populate(root: Path) -> None:
    """Exited container records, as ``ps`` lists them (no files: these templates read none)."""
    from dockpy.root import StorageRoot
    from dockpy.runtime.containers import EXITED, ContainerRecord, ContainerStore

    store = ContainerStore(StorageRoot(root).create())
    now = time.time()
    for number in range(CONTAINERS):
        store.add(ContainerRecord(id=f"{number:064x}", name=f"job{number}", image="busybox:latest", image_id="",
                                  command=("sh", "-c", "exit 0"), created=now - 3600, state=EXITED, exit_code=0,
                                  finished=now - 1800))
    store.close()


def main() -> None:
    compile_bytecode()
    with tempfile.TemporaryDirectory() as scratch:
        populate(Path(scratch))
        env = {"DOCKPY_ROOT": scratch}
        # One of each per round: this machine's speed drifts by more than the difference measured.
        timings = interleaved({
            f"dockpy ps -a ({CONTAINERS} containers)": command_runner(dockpy_command("ps", "-a"), env=env),
            "ps -a --format fields": command_runner(dockpy_command("ps", "-a", "--format", FIELDS), env=env),
            "ps -a --format table with if/pipe/printf/with":
                command_runner(dockpy_command("ps", "-a", "--format", ACTIONS), env=env),
        }, RUNS, own_cpu=False)
        table = timings[0]
    body = format_table(timings, reference=table, target="--format templates ≤ 1.10× ps -a")
    record("ps --format templates", "python bench/template_bench.py",
           f"Fields: `{FIELDS}`; with actions: `{ACTIONS}`.\n\n{body}")


if __name__ == "__main__":
    main()
