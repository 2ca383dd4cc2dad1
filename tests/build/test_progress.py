import io

from dockpy.build.progress import PlainRenderer, Progress, StepMissed, StepOutput


def test_plain_output_is_one_buildkit_style_line_per_event():
    out = io.StringIO()
    progress = Progress(PlainRenderer(out))
    number = progress.start_step("build", 2, 5, "COPY pages/ pages/")
    progress.emit(StepMissed(number, "COPY: pages/index.md changed"))
    progress.emit(StepOutput(number, "rendered 3 pages"))
    progress.finish_step(number)
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["#1 [build 2/5] COPY pages/ pages/", "#1 cache miss: COPY: pages/index.md changed",
                         "#1 rendered 3 pages"]
    assert lines[3].startswith("#1 DONE ")


def test_a_recorded_build_is_replayed_as_cached_steps():
    out = io.StringIO()
    progress = Progress(PlainRenderer(out))
    progress.start_step("stage-0", 1, 2, "FROM busybox")
    Progress(PlainRenderer(out)).replay_cached(progress.step_lines)
    assert "#1 CACHED" in out.getvalue().splitlines()
