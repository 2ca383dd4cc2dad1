"""Parsing ``--output`` values as docker buildx does, and checking destinations before a build."""

import pytest

from dockpy.build.exporters import BuildOutput, check_output_destination, parse_output
from dockpy.errors import InvalidInputError


@pytest.mark.parametrize("value, expected", [
    ("out", BuildOutput("local", "out")),
    ("dest=out", BuildOutput("local", "dest=out")),
    ("-", BuildOutput("tar", "-")),
    ("type=local,dest=out", BuildOutput("local", "out")),
    ("dest=out,type=local", BuildOutput("local", "out")),
    ("type=tar,dest=out.tar", BuildOutput("tar", "out.tar")),
    ("type=tar", BuildOutput("tar", "-")),
    ("TYPE=tar,Dest=a.tar", BuildOutput("tar", "a.tar")),
])
def test_a_supported_value_parses_to_its_exporter_and_destination(value, expected):
    assert parse_output(value) == expected


@pytest.mark.parametrize("value", ["", "type=local", "dest=out,name=x", "type=local,dest", "type=tar,=x",
                                   "type=local,dest=x,attest=1", "type=zip,dest=x"])
def test_a_malformed_value_is_invalid_input(value):
    with pytest.raises(InvalidInputError, match="invalid --output"):
        parse_output(value)


@pytest.mark.parametrize("kind", ["image", "registry", "oci", "docker", "cacheonly"])
def test_an_image_exporter_is_refused_with_a_hint_to_tag_instead(kind):
    with pytest.raises(InvalidInputError, match=f"type={kind} is not supported") as raised:
        parse_output(f"type={kind},dest=x")
    assert "-t NAME" in raised.value.hint


def test_only_a_tar_to_dash_goes_to_standard_output():
    assert BuildOutput("tar", "-").to_standard_output
    assert not BuildOutput("local", "-").to_standard_output


def test_a_tar_destination_that_is_a_directory_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="exists and is not a file"):
        check_output_destination(BuildOutput("tar", str(tmp_path)))


def test_a_missing_destination_of_either_kind_is_accepted(tmp_path):
    check_output_destination(BuildOutput("local", str(tmp_path / "new")))
    check_output_destination(BuildOutput("tar", str(tmp_path / "new.tar")))


def test_a_tar_to_standard_output_is_refused_when_that_is_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    with pytest.raises(InvalidInputError, match="tar to a terminal"):
        check_output_destination(BuildOutput("tar", "-"))
