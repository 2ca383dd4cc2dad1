"""The live build view on a terminal (rich): stages and steps, and a running step's output.

Finished steps are printed once, above the live area, as one line each
(``✔ [build 3/5] COPY pages/ pages/  0.2s  CACHED``); the live area shows the
step that is running with a spinner and its last few output lines, so a
long RUN shows what it is doing without flooding the screen. Importing this
module imports rich; only a build on a terminal does.
"""

from __future__ import annotations

import collections

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from dockpy.build.progress import (
    BuildFinished,
    BuildWarning,
    Event,
    OutputExported,
    StepCached,
    StepFailed,
    StepFinished,
    StepMissed,
    StepOutput,
    StepStarted,
)

# Output lines of the running step kept on screen.
LIVE_OUTPUT_LINES = 6


class LiveRenderer:
    """Renders events with a rich ``Live`` on stderr; call ``close`` when the build ends."""

    def __init__(self, console: Console | None = None):
        self._console = console or Console(stderr=True)
        self._steps: dict[int, StepStarted] = {}
        self._notes: dict[int, str] = {}
        self._output: collections.deque[str] = collections.deque(maxlen=LIVE_OUTPUT_LINES)
        self._current: StepStarted | None = None
        self._live = Live(self._view(), console=self._console, refresh_per_second=10, transient=True)
        self._live.start()

    def __call__(self, event: Event) -> None:
        match event:
            case StepStarted():
                self._steps[event.number] = self._current = event
                self._output.clear()
            case StepCached(number):
                self._notes[number] = "CACHED"
            case StepMissed():
                pass
            case StepOutput(_, line):
                self._output.append(line)
            case StepFinished(number, seconds):
                self._print_step(number, "[green]✔[/]", f"{seconds:.1f}s")
            case StepFailed(number, message):
                self._print_step(number, "[red]✘[/]", message)
            case BuildWarning(message):
                self._live.console.print(Text(f"WARNING: {message}", style="yellow"))
            case BuildFinished(image_id, tags, seconds):
                named = f" ({', '.join(tags)})" if tags else ""
                self._live.console.print(Text(f"built {image_id}{named} in {seconds:.1f}s", style="bold"))
            case OutputExported(destination, seconds):
                self._live.console.print(Text(f"exported to {destination} in {seconds:.1f}s"))
        self._live.update(self._view())

    def close(self) -> None:
        self._live.stop()

    def _print_step(self, number: int, mark: str, detail: str) -> None:
        step = self._steps.get(number)
        if step is None:
            return
        note = self._notes.get(number, "")
        line = Text.from_markup(f"{mark} ")
        line.append(f"[{step.stage} {step.position}/{step.count}] ", style="bold")
        line.append(step.text)
        line.append(f"  {detail}  {note}".rstrip(), style="dim")
        self._live.console.print(line)
        if self._current is step:
            self._current = None

    def _view(self):
        if self._current is None:
            return Text("")
        step = self._current
        header = Spinner("dots", Text(f"[{step.stage} {step.position}/{step.count}] {step.text}"))
        return Group(header, *(Text(f"  {line}", style="dim") for line in self._output))
