"""A microVM as the container lifecycle sees a started program: a pid, ``wait()``, ``send_signal()``.

``KvmBackend.run`` blocks until the VM is gone, while the lifecycle's owners
(``monitor.py``: the foreground ``dockpy run`` and the ``-d`` monitor) start a
container, record its pid, then wait. So the run happens in a thread of the
owner, and ``start_vm`` returns as soon as QEMU runs (the run calls back
with its pid), so that the owner records the container while the guest
boots: QEMU's pid is the container's pid in the record (``ps``, ``wait``
and ``stop`` watch it). The thread that starts QEMU must be the one that
waits for it (QEMU's parent-death signal is per thread), which ``run``
guarantees.

A setup failure the guest reports (an unknown user, a bad working dir) comes
only after the boot, long after "started": it is written to the container's
stderr as dockpy's one error line and becomes exit code 125, as the same
failure is in the namespace runtime.
"""

from __future__ import annotations

import os
import threading

from dockpy.errors import ContainerSetupError, DockpyError
from dockpy.runtime.spec import ContainerSpec


class VmProcess:
    """A container running in a microVM, run by a thread of this process."""

    def __init__(self, backend, spec: ContainerSpec, stdio: tuple[int, int, int]):
        self._backend = backend
        self._container_id = spec.id
        # The caller may close its stdio once started: the run keeps its own stderr to report a late
        # failure on, until it ends (not longer: with -t, the terminal's reader waits for its last holder).
        self._stderr = os.dup(stdio[2])
        self._exit_code: int | None = None
        self._error: DockpyError | None = None
        self._settled = threading.Event()  # QEMU runs, or the run ended before it could
        self._thread = threading.Thread(target=self._run, args=(spec, stdio), name=f"vm-{spec.id[:12]}", daemon=True)
        self.pid: int | None = None

    def _run(self, spec: ContainerSpec, stdio: tuple[int, int, int]) -> None:
        stdin, stdout, _ = stdio
        try:
            self._exit_code = self._backend.run(spec, stdin=stdin, stdout=stdout, stderr=self._stderr, on_start=self._started)
        except DockpyError as error:
            self._fail(error)
        except Exception as error:  # unforeseen (a full disk under the initrd): one line, not a thread's traceback
            self._fail(ContainerSetupError(f"the microVM failed: {type(error).__name__}: {error}"))
        finally:
            self._settled.set()
            os.close(self._stderr)

    def _fail(self, error: DockpyError) -> None:
        self._error = error
        if self.pid is not None:  # start() returned already: nobody else hears of it
            os.write(self._stderr, f"dockpy: error: {error}\n".encode())

    def _started(self, pid: int) -> None:
        """Called by the run's thread once QEMU runs: ``start`` returns at once."""
        self.pid = pid
        self._settled.set()

    def start(self) -> None:
        """Returns once QEMU runs; raises what stopped the VM from starting (a missing tool, a bad flag)."""
        self._thread.start()
        self._settled.wait()
        if self.pid is None and self._error is not None:
            raise self._error

    def wait(self) -> int:
        """The container's exit code (128+N for signal N, 137 for a killed VM, 125 for a setup failure)."""
        self._thread.join()
        return self._error.exit_code if self._error is not None else self._exit_code

    def send_signal(self, signum: int) -> None:
        """Forwarded to the process in the guest; SIGKILL ends the VM."""
        self._backend.signal(self._container_id, signum)


def start_vm(backend, spec: ContainerSpec, stdio: tuple[int, int, int]) -> VmProcess:
    process = VmProcess(backend, spec, stdio)
    process.start()
    return process
