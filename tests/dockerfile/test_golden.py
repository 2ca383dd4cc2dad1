"""dockpy's own golden cases: a folder per case under golden/, as BuildKit keeps its testfiles.

Each folder holds the input ``Dockerfile`` and either
- ``expected``: the moby dump (``dockpy parse --format moby``), plus optionally
  ``expected.json`` (the JSON dump: line numbers, heredocs, exec form) and
  ``directives.json`` (when the file has parser directives); or
- ``error``: the one-line error the parse must fail with (``Dockerfile:2:5: ...``).

These stand without ../shared, so the suite covers the whole front end on its own.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from dockpy.dockerfile import Directives, dump_json, dump_moby, parse_dockerfile
from dockpy.errors import DockerfileError

GOLDEN = Path(__file__).parent / "golden"
PASSING = sorted(case.name for case in GOLDEN.iterdir() if (case / "expected").is_file())
FAILING = sorted(case.name for case in GOLDEN.iterdir() if (case / "error").is_file())


@pytest.mark.parametrize("case", PASSING)
def test_golden_case_parses_to_the_expected_dump(case):
    folder = GOLDEN / case
    dockerfile = parse_dockerfile((folder / "Dockerfile").read_bytes())
    assert dump_moby(dockerfile) == (folder / "expected").read_text(encoding="utf-8")
    if (folder / "expected.json").is_file():
        assert dump_json(dockerfile) == json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    expected_directives = Directives()
    if (folder / "directives.json").is_file():
        expected_directives = Directives(**json.loads((folder / "directives.json").read_text(encoding="utf-8")))
    assert dataclasses.asdict(dockerfile.directives) == dataclasses.asdict(expected_directives)


@pytest.mark.parametrize("case", FAILING)
def test_golden_case_fails_with_the_expected_error(case):
    folder = GOLDEN / case
    with pytest.raises(DockerfileError) as raised:
        parse_dockerfile((folder / "Dockerfile").read_bytes())
    assert str(raised.value) == (folder / "error").read_text(encoding="utf-8").rstrip("\n")


def test_every_golden_folder_has_an_expectation():
    assert sorted(PASSING + FAILING) == sorted(case.name for case in GOLDEN.iterdir() if case.is_dir())
