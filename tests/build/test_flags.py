import pytest

from dockpy.build.flags import FlagError, FlagKind, parse_flags

ACCEPTED = {"from": FlagKind.STRING, "link": FlagKind.BOOL, "mount": FlagKind.STRINGS}


def test_string_bool_and_repeated_flags_are_parsed():
    flags = parse_flags(["--from=build", "--link", "--mount=a", "--mount=b"], ACCEPTED)
    assert flags.string("from") == "build"
    assert flags.bool("link") is True
    assert flags.strings_of("mount") == ("a", "b")


def test_a_bool_flag_accepts_true_and_false_in_any_case():
    assert parse_flags(["--link=FALSE"], ACCEPTED).bool("link") is False
    assert parse_flags(["--link=True"], ACCEPTED).bool("link") is True


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["--chown=1"], "unknown flag: --chown"),
        (["--from=a", "--from=b"], "duplicate flag specified: --from"),
        (["--from"], "missing a value on flag: --from"),
        (["--link=maybe"], "expecting boolean value for flag --link, not: maybe"),
        (["-x"], "arguments must begin with '--'"),
    ],
)
def test_invalid_flags_are_refused_with_buildkits_message(raw, message):
    with pytest.raises(FlagError, match=message):
        parse_flags(raw, ACCEPTED)
