"""Build progress: events from the builder, and the renderers that show them.

The builder only emits events (``Progress.emit``); how they look is the
renderer's business:

- ``PlainRenderer`` (``--progress plain``, and whenever output is not a
  terminal): one line per step as BuildKit prints them, ``#3 [build 2/5]
  COPY pages/ pages/``, then ``#3 CACHED`` or the reason of the miss, the
  step's output lines, and ``#3 DONE 0.2s``;
- ``QuietRenderer`` (``--progress quiet``): nothing but warnings;
- ``live.LiveRenderer`` (a terminal): a rich live view of the stages and steps,
  with the last lines of a running step's output.
"""

from __future__ import annotations

import sys
import time
from collections import namedtuple
from collections.abc import Callable
from io import TextIOBase

# A failed step's error shows this many of its last output lines.
FAILURE_TAIL_LINES = 10


# The events are namedtuples, not dataclasses: an unchanged build is answered
# in a few tens of milliseconds, and ``dataclasses`` (with ``inspect``) costs
# several of them to import.
StepStarted = namedtuple("StepStarted", "number stage position count text")
StepCached = namedtuple("StepCached", "number")
StepMissed = namedtuple("StepMissed", "number reason")
StepOutput = namedtuple("StepOutput", "number line")
StepFinished = namedtuple("StepFinished", "number seconds")
StepFailed = namedtuple("StepFailed", "number message")
BuildWarning = namedtuple("BuildWarning", "message")
BuildFinished = namedtuple("BuildFinished", "image_id tags seconds")
# ``build -o``: the built files were written to ``destination`` (as ``BuildOutput.description`` says it).
OutputExported = namedtuple("OutputExported", "destination seconds")

Event = (StepStarted | StepCached | StepMissed | StepOutput | StepFinished | StepFailed | BuildWarning | BuildFinished
         | OutputExported)


class Progress:
    """Numbers the steps and forwards events to a renderer (``None``: discard them)."""

    def __init__(self, renderer: Callable[[Event], None] | None = None):
        self._renderer = renderer
        self._next = 0
        self._started: dict[int, float] = {}
        self.step_lines: list[str] = []
        self._created = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self._created

    def emit(self, event: Event) -> None:
        if self._renderer is not None:
            self._renderer(event)

    def start_step(self, stage: str, position: int, count: int, text: str) -> int:
        self._next += 1
        self._started[self._next] = time.monotonic()
        self.step_lines.append(f"{stage}\0{position}\0{count}\0{text}")
        self.emit(StepStarted(self._next, stage, position, count, text))
        return self._next

    def replay_cached(self, step_lines: list[str] | tuple[str, ...]) -> None:
        """Show the steps of a recorded build as all cached (the fast path of an unchanged build)."""
        for line in step_lines:
            stage, position, count, text = line.split("\0", 3)
            number = self.start_step(stage, int(position), int(count), text)
            self.emit(StepCached(number))
            self.finish_step(number)

    def finish_step(self, number: int) -> None:
        self.emit(StepFinished(number, time.monotonic() - self._started.pop(number, time.monotonic())))


class PlainRenderer:
    """BuildKit's plain output: one line per event, prefixed with the step number."""

    def __init__(self, out: TextIOBase | None = None):
        self._out = out or sys.stderr

    def __call__(self, event: Event) -> None:
        line = self._line(event)
        if line is not None:
            print(line, file=self._out, flush=True)

    @staticmethod
    def _line(event: Event) -> str | None:
        match event:
            case StepStarted(number, stage, position, count, text):
                return f"#{number} [{stage} {position}/{count}] {text}"
            case StepCached(number):
                return f"#{number} CACHED"
            case StepMissed(number, reason):
                return f"#{number} cache miss: {reason}"
            case StepOutput(number, line):
                return f"#{number} {line}"
            case StepFinished(number, seconds):
                return f"#{number} DONE {seconds:.1f}s"
            case StepFailed(number, message):
                return f"#{number} ERROR: {message}"
            case BuildWarning(message):
                return f"WARNING: {message}"
            case BuildFinished(image_id, tags, seconds):
                named = "".join(f"\nnaming to {tag} done" for tag in tags)
                return f"writing image {image_id} done{named}\nbuild finished in {seconds:.1f}s"
            case OutputExported(destination, seconds):
                return f"exporting to {destination} done {seconds:.1f}s"
        return None


class QuietRenderer:
    """Only warnings, on stderr; the command prints the image id itself."""

    def __init__(self, out: TextIOBase | None = None):
        self._out = out or sys.stderr

    def __call__(self, event: Event) -> None:
        if isinstance(event, BuildWarning):
            print(f"WARNING: {event.message}", file=self._out)
