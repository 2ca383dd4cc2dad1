"""BuildKit's own parser test data and a corpus of real-world Dockerfiles (../shared/conformance).

The rules are in ../shared/conformance/buildkit/FORMAT.md: every ``result``
dump byte for byte, the negative cases fail, the line-number case gives
BuildKit's spans, and every real-world file parses. Skips when ../shared is absent.
"""

from __future__ import annotations

import pytest

from dockpy.dockerfile import dump_moby, parse_dockerfile
from dockpy.errors import DockerfileError
from tests.conftest import SHARED

CONFORMANCE = SHARED / "conformance"
PARSER_DATA = CONFORMANCE / "buildkit" / "parser"
REAL_WORLD = CONFORMANCE / "real-world"
_ABSENT = pytest.mark.skip(reason=f"{CONFORMANCE} is absent: the shared conformance data is not checked out")


def _folders(path):
    if not path.is_dir():
        return [pytest.param(None, marks=_ABSENT, id="absent")]
    return sorted(folder.name for folder in path.iterdir() if folder.is_dir())


def _real_world_files():
    manifest = REAL_WORLD / "MANIFEST.tsv"
    if not manifest.is_file():
        return [pytest.param(None, marks=_ABSENT, id="absent")]
    rows = manifest.read_text(encoding="utf-8").splitlines()[1:]
    return [row.split("\t")[0] for row in rows if row]


@pytest.mark.parametrize("case", _folders(PARSER_DATA / "testfiles"))
def test_buildkit_case_dumps_exactly_its_result_file(case):
    folder = PARSER_DATA / "testfiles" / case
    dockerfile = parse_dockerfile((folder / "Dockerfile").read_bytes())
    assert dump_moby(dockerfile) == (folder / "result").read_bytes().decode("utf-8")


@pytest.mark.parametrize("case", _folders(PARSER_DATA / "testfiles-negative"))
def test_buildkit_negative_case_fails_to_parse(case):
    with pytest.raises(DockerfileError):
        parse_dockerfile((PARSER_DATA / "testfiles-negative" / case / "Dockerfile").read_bytes())


def test_buildkit_line_number_case_has_buildkits_spans(conformance_dir):
    dockerfile = parse_dockerfile((PARSER_DATA / "testfile-line" / "Dockerfile").read_bytes())
    assert (dockerfile.start_line, dockerfile.end_line) == (5, 31)
    assert [(i.start_line, i.end_line) for i in dockerfile.instructions] == [(5, 5), (11, 12), (17, 31)]


@pytest.mark.parametrize("name", _real_world_files())
def test_real_world_dockerfile_parses(name):
    path = REAL_WORLD / name
    dockerfile = parse_dockerfile(path.read_bytes(), filename=name)
    assert dockerfile.instructions
