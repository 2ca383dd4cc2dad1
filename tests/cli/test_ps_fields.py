"""The pieces of ps's template fields that the command-line tests do not reach."""

import subprocess
import sys

from dockpy.cli.ps_fields import labels_text, quoted_command


def test_a_command_with_quotes_is_quoted_as_gos_strconv_quote_does():
    assert quoted_command(("echo", '"hi"'), no_trunc=False) == '"echo \\"hi\\""'


def test_a_short_command_is_not_cut():
    assert quoted_command(("sleep", "30"), no_trunc=False) == '"sleep 30"'


def test_no_labels_print_as_empty_text():
    assert labels_text({}) == ""



def test_the_template_modules_of_ps_import_no_tree_walker():
    """Only `.Size` walks a container's files: every other ``ps --format`` is spared the import."""
    code = ("import sys\nimport dockpy.cli.ps_fields, dockpy.cli.go_template\n"
            "print('dockpy.layers.tree_size' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
