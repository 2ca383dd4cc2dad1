"""printf as Go's fmt.Sprintf formats: the verbs scripts use, flags, and Go's marks for misfits."""

import pytest

from dockpy.cli.go_printf import go_quote, go_sprintf


@pytest.mark.parametrize("format_text, values, text", [
    ("%s:%d", ["web", 3], "web:3"),
    ("%v %v %v", [True, ["a", 1], {"b": None}], "true [a 1] map[b:<nil>]"),
    ("%q", ['say "hi"\n'], '"say \\"hi\\"\\n"'),
    ("%t", [False], "false"),
    ("%5s|%-5s|%05d|%+d", ["ab", "ab", -42, 7], "   ab|ab   |-0042|+7"),
    ("%.2s %.1f %e %g", ["abc", 2.25, 1.5, 1e6], "ab 2.2 1.500000e+00 1e+06"),
    ("%x %X %#x %o %b %c %U", [255, 255, 255, 8, 5, 97, 233], "ff FF 0xff 10 101 a U+00E9"),
    ("%x", ["hi"], "6869"),
    ("%s", [["a", "b"]], "[a b]"),
    ("100%%", [], "100%"),
])
def test_verbs_format_as_go_formats_them(format_text, values, text):
    assert go_sprintf(format_text, values) == text


@pytest.mark.parametrize("format_text, values, text", [
    ("%d", ["web"], "%!d(string=web)"),
    ("%s", [3], "%!s(int=3)"),
    ("%s", [None], "%!s(<nil>)"),
    ("%d", [[1, "a"]], "[1 %!d(string=a)]"),
    ("%s %s", ["a"], "a %!s(MISSING)"),
    ("%s", ["a", 1], "a%!(EXTRA int=1)"),
    ("%z", [1], "%!z(int=1)"),
    ("end %", [], "end %!(NOVERB)"),
    ("end %-5.", [], "end %!(NOVERB)"),
    ("%\u0663d", [1], "%!\u0663(int=1)d"),
    ("%9999999d|%.9999999s", [1, "ab"], "%!(BADWIDTH)1|%!(BADPREC)ab"),
])
def test_a_misfit_prints_gos_mark_instead_of_failing(format_text, values, text):
    assert go_sprintf(format_text, values) == text


def test_go_quote_escapes_control_characters_and_keeps_printable_ones():
    assert go_quote("é\t\x01\x7f") == '"é\\t\\x01\\x7f"'
