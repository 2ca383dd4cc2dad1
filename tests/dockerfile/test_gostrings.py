"""Go's whitespace and strconv.Quote, as the dump needs them."""

import pytest

from dockpy.dockerfile.gostrings import GO_WHITESPACE, go_quote, go_trim_space, replace_invalid_bytes


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("\a\b\f\n\r\t\v", '"\\a\\b\\f\\n\\r\\t\\v"'),
        ("nul\x00 del\x7f esc\x1b", '"nul\\x00 del\\x7f esc\\x1b"'),
        ("♥ ☃ 한국어", '"♥ ☃ 한국어"'),
        ("nbsp\u00a0 zero-width\u200b", '"nbsp\\u00a0 zero-width\\u200b"'),
        ("private\U000f0000", '"private\\U000f0000"'),
        (b"raw\xff".decode("utf-8", "surrogateescape"), '"raw\\xff"'),
    ],
)
def test_go_quote_writes_what_strconv_quote_writes(text, quoted):
    assert go_quote(text) == quoted


def test_go_whitespace_excludes_what_only_python_calls_space():
    assert "\x1c" not in GO_WHITESPACE and "\x1c".isspace()
    assert go_trim_space("\x1c x \u3000") == "\x1c x"


def test_undecodable_bytes_become_the_replacement_character():
    assert replace_invalid_bytes(b"a\xc3b".decode("utf-8", "surrogateescape")) == "a\ufffdb"
