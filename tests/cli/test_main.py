"""The command line's own contract: version, help, error rendering, exit codes."""

import subprocess
import sys


def test_version_prints_the_package_version(dockpy):
    result = dockpy("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("dockpy version ")


def test_an_unknown_command_is_one_error_line_and_exit_125(dockpy):
    result = dockpy("frobnicate")
    assert result.returncode == 125
    assert result.stderr.splitlines()[0] == "dockpy: error: unknown command 'frobnicate'"
    assert "Traceback" not in result.stderr


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys\n"
        "from dockpy.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('lark', 'zstandard', 'rich', 'sqlite3') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "HEAVY="


def test_a_bad_flag_names_the_command_it_belongs_to(dockpy):
    result = dockpy("parse", "-f")
    assert result.returncode == 125
    assert result.stderr.splitlines() == [
        "dockpy: error: parse: argument -f/--file: expected one argument",
        "hint: See 'dockpy parse --help'.",
    ]
