"""Property tests: whatever the input, parsing either succeeds or raises DockerfileError.

Random text, random bytes, and mutations of valid Dockerfiles (the golden
inputs) seasoned with the characters the parser treats specially. A lark
exception, an IndexError or a RecursionError escaping would be a bug.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockpy.dockerfile import dump_moby, parse_dockerfile
from dockpy.errors import DockerfileError

GOLDEN = Path(__file__).parent / "golden"
SEEDS = sorted((case / "Dockerfile").read_bytes() for case in GOLDEN.iterdir() if (case / "Dockerfile").is_file())

# Pieces of Dockerfile syntax that steer the parser into its less common paths.
SPECIAL = [
    "\\", "`", '"', "'", "[", "]", "<<", "<<-", "3<<", "\n", "\r\n", "\r", "#", "=", " ", "\t", "\v",
    "--", "-", "$", "${", "}", ":", "\u3000", "\xa0", "\x85", "\x00", "\ufeff", "# escape=`\n",
    "# syntax=x\n", "EOF", "RUN ", "ONBUILD ", "HEALTHCHECK ", "ENV ", "COPY ", "ARG ", "[1]", '["a"]',
]  # fmt: skip

_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_or_reject(data):
    """Parse, accepting only DockerfileError as failure; return the Dockerfile or None."""
    try:
        return parse_dockerfile(data)
    except DockerfileError:
        return None


def check_dockerfile_is_consistent(dockerfile):
    """One dump line per instruction, and spans in file order."""
    if dockerfile is None:
        return
    assert dump_moby(dockerfile).count("\n") == len(dockerfile.instructions)
    previous_end = 0
    for instruction in dockerfile.instructions:
        assert previous_end < instruction.start_line <= instruction.end_line
        previous_end = instruction.end_line


@st.composite
def mutated_dockerfiles(draw):
    """A golden Dockerfile with pieces inserted, deleted and replaced at random places."""
    text = draw(st.sampled_from(SEEDS)).decode("utf-8", "surrogateescape")
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        position = draw(st.integers(min_value=0, max_value=len(text)))
        piece = draw(st.sampled_from(SPECIAL) | st.text(max_size=3))
        cut = draw(st.integers(min_value=0, max_value=3))
        text = text[:position] + piece + text[position + cut :]
    return text.encode("utf-8", "surrogateescape")


@_SETTINGS
@given(st.text())
def test_random_text_parses_or_raises_dockerfile_error(text):
    check_dockerfile_is_consistent(parse_or_reject(text))


@_SETTINGS
@given(st.binary())
def test_random_bytes_parse_or_raise_dockerfile_error(data):
    check_dockerfile_is_consistent(parse_or_reject(data))


@_SETTINGS
@given(st.lists(st.sampled_from(SPECIAL) | st.text(max_size=4), max_size=30).map("".join))
def test_random_syntax_soup_parses_or_raises_dockerfile_error(text):
    check_dockerfile_is_consistent(parse_or_reject(text))


@_SETTINGS
@given(mutated_dockerfiles())
def test_mutated_dockerfile_parses_or_raises_dockerfile_error(data):
    check_dockerfile_is_consistent(parse_or_reject(data))
