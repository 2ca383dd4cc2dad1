"""Helpers for the builder's tests: Dockerfiles from text, typed instructions, stage states."""

from __future__ import annotations

import textwrap

import pytest

from dockpy.build.instructions import parse_instruction
from dockpy.build.stages import plan_build
from dockpy.dockerfile import parse_dockerfile


def dockerfile(text: str):
    return parse_dockerfile(textwrap.dedent(text).lstrip().encode())


def command(line: str):
    """The typed command of a one-instruction Dockerfile line."""
    return parse_instruction(parse_dockerfile(line.encode()).instructions[0])


def plan(text: str, **options):
    return plan_build(dockerfile(text), **options)


@pytest.fixture
def make_plan():
    return plan
