import io

from rich.console import Console

from dockpy.build.live import LiveRenderer
from dockpy.build.progress import BuildFinished, OutputExported, Progress, StepCached, StepOutput


def test_the_live_view_prints_finished_steps_with_their_state():
    out = io.StringIO()
    renderer = LiveRenderer(Console(file=out, force_terminal=True, color_system=None, width=120))
    progress = Progress(renderer)
    first = progress.start_step("build", 1, 2, "FROM busybox")
    progress.emit(StepCached(first))
    progress.finish_step(first)
    second = progress.start_step("build", 2, 2, "RUN make")
    progress.emit(StepOutput(second, "compiling"))
    progress.finish_step(second)
    progress.emit(BuildFinished("sha256:abc", ("app:1",), 1.0))
    progress.emit(OutputExported("client directory out", 0.25))
    renderer.close()
    text = out.getvalue()
    assert "[build 1/2] FROM busybox" in text and "CACHED" in text
    assert "[build 2/2] RUN make" in text
    assert "built sha256:abc (app:1)" in text
    assert "exported to client directory out in 0.2s" in text
