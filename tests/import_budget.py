"""Which of some slow modules a set of dockpy modules pulls in, asked of a fresh interpreter.

The command-line tests keep each hot command's import path free of modules
that cost milliseconds at every start (dataclasses, typing, the OCI model...).
"""

from __future__ import annotations

import subprocess
import sys


def slow_modules_imported(modules: tuple[str, ...], slow: tuple[str, ...]) -> list[str]:
    """The names in ``slow`` that importing ``modules`` (in a new interpreter) loaded."""
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n    importlib.import_module(name)\n"
        f"print(','.join(m for m in {slow!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    last_line = (result.stdout.strip().splitlines() or [""])[-1]
    return [name for name in last_line.split(",") if name]
