import pytest

from dockpy.errors import DockerfileError, NotFoundError
from tests.build.conftest import plan

MULTI = """
ARG BASE=busybox
FROM $BASE AS Deps
RUN echo deps
FROM busybox AS unused
RUN echo unused
FROM deps AS build
COPY --from=unused /x /x
FROM busybox AS tools
FROM busybox
COPY --from=build /out /out
RUN --mount=type=bind,from=tools,target=/t true
"""


def test_without_target_the_last_stage_is_built_after_what_it_needs():
    built = plan(MULTI)
    assert [built.stages[i].name for i in built.order] == ["deps", "unused", "build", "tools", None]


def test_target_builds_only_the_stages_it_needs():
    built = plan(MULTI, target="build")
    assert [built.stages[i].name for i in built.order] == ["deps", "unused", "build"]


def test_stage_names_are_case_insensitive_for_target_and_from():
    assert plan(MULTI, target="DEPS").target.name == "deps"


def test_an_unknown_target_is_an_error():
    with pytest.raises(NotFoundError, match="target stage 'nope' could not be found"):
        plan(MULTI, target="nope")


def test_global_args_are_collected_before_the_first_from():
    built = plan(MULTI)
    assert [d.name for arg in built.global_args for d in arg.declarations] == ["BASE"]


def test_an_instruction_before_the_first_from_other_than_arg_is_refused():
    with pytest.raises(DockerfileError, match="Dockerfile:1: no build stage in current context"):
        plan("RUN true\nFROM busybox\n")


def test_a_duplicate_stage_name_is_refused():
    with pytest.raises(DockerfileError, match="duplicate stage name 'a'"):
        plan("FROM busybox AS a\nFROM busybox AS A\n")


def test_an_invalid_stage_name_is_refused():
    with pytest.raises(DockerfileError, match="invalid name for build stage"):
        plan("FROM busybox AS 1st\n")


def test_copy_from_a_stage_index_is_a_dependency():
    built = plan("FROM busybox\nFROM busybox\nCOPY --from=0 /a /a\n")
    assert built.order == (0, 1)


def test_any_invalid_instruction_fails_the_plan_before_the_build():
    with pytest.raises(DockerfileError, match="Dockerfile:3: unknown instruction: COPPY"):
        plan("FROM busybox\nRUN true\nCOPPY a b\n")
