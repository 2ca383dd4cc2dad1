"""Parsing image references: Docker's grammar and normalization, plus dockpy's @REV."""

import pytest

from dockpy.errors import InvalidReferenceError
from dockpy.image.reference import ImageIdPrefix, ImageReference, parse_reference, parse_tag_reference

HEX = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    "text, repository, tag",
    [
        ("busybox", "docker.io/library/busybox", None),
        ("busybox:1.36", "docker.io/library/busybox", "1.36"),
        ("library/busybox", "docker.io/library/busybox", None),
        ("index.docker.io/busybox", "docker.io/library/busybox", None),
        ("docker.io/library/busybox:latest", "docker.io/library/busybox", "latest"),
        ("user/app:v1", "docker.io/user/app", "v1"),
        ("localhost:5000/app:1", "localhost:5000/app", "1"),
        ("localhost/app", "localhost/app", None),
        ("registry.example.com/team/app:2.0-rc_1", "registry.example.com/team/app", "2.0-rc_1"),
        ("[::1]:5000/app:v", "[::1]:5000/app", "v"),
        ("a__b-c/e---f.g:T", "docker.io/a__b-c/e---f.g", "T"),
    ],
)
def test_names_are_normalized_as_docker_does(text, repository, tag):
    reference = parse_reference(text)
    assert (reference.repository, reference.tag) == (repository, tag)


def test_the_familiar_form_drops_docker_io_and_library():
    assert str(parse_reference("docker.io/library/busybox:1")) == "busybox:1"
    assert str(parse_reference("docker.io/user/app")) == "user/app"
    assert str(parse_reference("localhost:5000/app:1")) == "localhost:5000/app:1"


def test_name_tag_defaults_the_tag_to_latest():
    assert parse_reference("app").name_tag == "app:latest"


def test_at_a_number_is_a_revision():
    reference = parse_reference("app:latest@3")
    assert (reference.tag, reference.revision, reference.digest) == ("latest", 3, None)
    assert parse_reference("app@2").name_tag == "app:latest"


def test_at_a_digest_is_a_manifest_digest():
    reference = parse_reference(f"localhost:5000/app@sha256:{HEX}")
    assert reference.digest == f"sha256:{HEX}"
    assert reference.revision is None


def test_sixty_four_hex_digits_are_an_image_id():
    assert parse_reference(HEX) == ImageIdPrefix(HEX)
    assert parse_reference(f"sha256:{HEX}") == ImageIdPrefix(HEX)


def test_sha256_with_a_short_hex_string_is_an_id_prefix():
    assert parse_reference("sha256:0123ab") == ImageIdPrefix("0123ab")


def test_a_short_hex_string_is_a_name_that_may_be_an_id_prefix():
    reference = parse_reference("0123ab")
    assert isinstance(reference, ImageReference)
    assert reference.id_prefix == "0123ab"
    assert parse_reference("app").id_prefix is None


@pytest.mark.parametrize(
    "text",
    [
        "", "App", "app:", "app:-bad", "app: space", "app:" + "x" * 129, "app@", "app@0", "app@x", "app@sha256:12",
        "/app", "app/", "a//b", "a/-b", "-a", "app@1@2", "sha256:xyz", "sha256:012", f"sha256:{HEX}0",
        "a" * 256, f"{HEX}:tag", "a_b.c/app", "bad_host:x/app",
    ],
)
def test_bad_references_are_refused(text):
    with pytest.raises(InvalidReferenceError):
        parse_reference(text)


def test_a_tag_reference_takes_no_revision_or_digest():
    assert parse_tag_reference("app").tag == "latest"
    with pytest.raises(InvalidReferenceError, match="without '@'"):
        parse_tag_reference("app:1@2")
