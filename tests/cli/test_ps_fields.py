"""The pieces of ps's template fields that the command-line tests do not reach."""

from dockpy.cli.ps_fields import labels_text, quoted_command


def test_a_command_with_quotes_is_quoted_as_gos_strconv_quote_does():
    assert quoted_command(("echo", '"hi"'), no_trunc=False) == '"echo \\"hi\\""'


def test_a_short_command_is_not_cut():
    assert quoted_command(("sleep", "30"), no_trunc=False) == '"sleep 30"'


def test_no_labels_print_as_empty_text():
    assert labels_text({}) == ""

