"""The command line's own contract: version, help, error rendering, exit codes."""

import os
import subprocess
import sys

import pytest

from tests.import_budget import slow_modules_imported


def run_python(code: str, storage_root=None) -> subprocess.CompletedProcess:
    """``python -c code`` in a fresh interpreter (with ``storage_root`` as DOCKPY_ROOT); it must succeed."""
    env = {**os.environ, "DOCKPY_ROOT": str(storage_root.path)} if storage_root is not None else None
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, timeout=120)


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
    result = run_python(code)
    assert result.stdout.strip().splitlines()[-1] == "HEAVY="


def test_a_bad_flag_names_the_command_it_belongs_to(dockpy):
    result = dockpy("parse", "-f")
    assert result.returncode == 125
    assert result.stderr.splitlines() == [
        "dockpy: error: parse: argument -f/--file: expected one argument",
        "hint: See 'dockpy parse --help'.",
    ]


def test_an_unknown_flag_names_the_command_it_was_given_to(dockpy):
    """argparse finds leftover words at the top level; the user typed them after a verb, so its help is the hint."""
    result = dockpy("images", "--no-such-flag")
    assert result.returncode == 125
    assert result.stderr.splitlines() == [
        "dockpy: error: images: unrecognized arguments: --no-such-flag",
        "hint: See 'dockpy images --help'.",
    ]
    assert dockpy("run", "--no-such-flag", "busybox").stderr.splitlines()[1] == "hint: See 'dockpy run --help'."


def test_an_unknown_global_option_is_dockpys_own(dockpy):
    assert dockpy("--no-such-option", "images").stderr.splitlines() == [
        "dockpy: error: unrecognized arguments: --no-such-option",
        "hint: See 'dockpy --help'.",
    ]


@pytest.mark.parametrize("argv, unknown, hint", [
    (("system", "prune", "-f"), "prune", "dockpy gc removes what nothing reaches; dockpy builder prune empties the build cache."),
    (("image", "ls"), "image", "dockpy has Docker's short forms only: dockpy images, rmi, history, inspect, tag, save, load."),
    (("container", "ls"), "container", "dockpy has Docker's short forms only: dockpy ps, create, start, stop, kill, rm, logs, exec."),
])
def test_a_docker_command_dockpy_spells_otherwise_hints_at_dockpys_own(dockpy, argv, unknown, hint):
    result = dockpy(*argv)
    assert result.returncode == 125
    assert result.stderr.splitlines() == [f"dockpy: error: unknown command {unknown!r}", f"hint: {hint}"]


def _verbs_registered_by(module_name: str) -> set[str]:
    import argparse
    import importlib

    commands = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(module_name).register(commands)
    return set(commands.choices)


def test_the_verb_table_names_the_module_of_every_verb_the_command_modules_register():
    from dockpy.cli import COMMAND_MODULES, COMMAND_VERBS

    registered = {verb: module for module in COMMAND_MODULES for verb in _verbs_registered_by(module)}
    assert registered == COMMAND_VERBS


def test_help_lists_every_command(capsys):
    from dockpy.cli import COMMAND_VERBS, main

    try:
        main(["--help"])
    except SystemExit:
        pass
    help_text = capsys.readouterr().out
    listed = {line.split()[0] for line in help_text.splitlines() if line.startswith("    ") and line.split()}
    assert set(COMMAND_VERBS) <= listed


def _command_modules_imported_by(*argv: str) -> set[str]:
    code = (
        "import sys\n"
        "from dockpy.cli import main\n"
        f"try:\n    main({list(argv)!r})\nexcept SystemExit:\n    pass\n"
        "print('MODULES=' + ','.join(sorted(m for m in sys.modules if m.startswith('dockpy.cli.'))))\n"
    )
    result = run_python(code)
    modules = result.stdout.strip().splitlines()[-1].removeprefix("MODULES=")
    return set(filter(None, modules.split(",")))


def test_a_command_imports_only_its_own_command_module(tmp_path):
    imported = _command_modules_imported_by("--root", str(tmp_path), "log", "nothing-here")
    assert imported <= {"dockpy.cli.log", "dockpy.cli.humanize", "dockpy.cli.output"}
    assert "dockpy.cli.log" in imported


def test_parsing_a_command_line_looks_up_no_translation(tmp_path):
    code = (
        "import sys\n"
        "from dockpy.cli import main\n"
        f"main(['--root', {str(tmp_path)!r}, 'images', '--quiet'])\n"
        "print('locale' in sys.modules)\n"
    )
    result = run_python(code)
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_argparse_messages_stay_english_with_plurals(dockpy):
    result = dockpy("commit")
    assert result.returncode == 125 and "the following arguments are required: CONTAINER" in result.stderr


def test_version_imports_no_command_module():
    assert _command_modules_imported_by("--version") == set()


def test_an_abbreviated_global_option_still_parses(dockpy, tmp_path):
    result = dockpy("--ro", str(tmp_path), "images", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_command_modules_import_no_dataclasses_typing_or_json_at_import_time():
    from dockpy.cli import COMMAND_MODULES

    heavy = ("dataclasses", "typing", "json", "sqlite3", "shutil")
    assert slow_modules_imported(tuple(COMMAND_MODULES), heavy) == []


@pytest.mark.parametrize("argv, absent", [
    (("images",), ("pathlib",)),
    (("log", "app"), ("pathlib",)),
    (("ps", "-a"), ("pathlib", "dockpy.runtime.lifecycle", "dockpy.runtime.spec", "dockpy.runtime.images")),
], ids=["images", "log", "ps"])
def test_a_listing_runs_without_pathlib_or_what_it_does_not_use(tmp_path, argv, absent):
    code = (
        "import sys\n"
        "from dockpy.cli import main\n"
        f"main(['--root', {str(tmp_path)!r}, *{argv!r}])\n"
        f"print('IMPORTED=' + ','.join(name for name in {absent!r} if name in sys.modules))\n"
    )
    result = run_python(code)
    assert result.stdout.splitlines()[-1] == "IMPORTED="


def test_a_command_ending_without_teardown_still_closes_its_database(dockpy, storage_root):
    from dockpy.metadata import open_database

    open_database(storage_root).close()
    result = dockpy("ps", "-a", env={"DOCKPY_ROOT": str(storage_root.path)})  # leaves closing to the exit
    assert result.returncode == 0 and result.stdout.startswith("CONTAINER ID")
    assert not storage_root.database.with_name("metadata.db-wal").exists()  # a clean close removes the WAL



def _main_returns_with_a_thread_running(storage_root, daemon: bool) -> bool:
    """Whether ``dockpy images`` returns from main() (Python's teardown to follow) while a thread blocks."""
    code = (
        "import sys, threading\n"
        "release = threading.Event()\n"
        f"threading.Thread(target=release.wait, args=(60,), daemon={daemon}).start()\n"
        "sys.argv = ['dockpy', 'images', '--quiet']\n"
        "from dockpy.cli import main\n"
        "main()\n"
        "print('main returned')\n"
        "release.set()\n"
    )
    result = run_python(code, storage_root)
    return "main returned" in result.stdout


def test_a_thread_still_running_keeps_pythons_teardown(storage_root):
    assert _main_returns_with_a_thread_running(storage_root, daemon=False)


def test_a_daemon_thread_still_running_does_not_keep_pythons_teardown(storage_root):
    """Python's exit would not wait for it either (the kvm backend's reapers of killed helpers are such threads)."""
    assert not _main_returns_with_a_thread_running(storage_root, daemon=True)


def test_a_process_with_exit_callbacks_keeps_pythons_teardown(storage_root):
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('callback ran'))\n"
        "sys.argv = ['dockpy', 'images', '--quiet']\n"
        "from dockpy.cli import main\n"
        "sys.exit(main())\n"
    )
    result = run_python(code, storage_root)
    assert result.stdout == "callback ran\n"


def test_a_commands_start_runs_without_the_cycle_collector_and_its_handler_with_it(storage_root):
    code = (
        "import gc, sys\n"
        "from dockpy import cli\n"
        "import dockpy.cli.images as images\n"
        "print(gc.isenabled())\n"
        "images.run = lambda args: print(gc.isenabled(), gc.get_freeze_count() > 0) or 0\n"
        "sys.argv = ['dockpy', 'images']\n"
        "sys.exit(cli.main())\n"
    )
    result = run_python(code, storage_root)
    assert result.stdout.split() == ["False", "True", "True"]


def test_main_called_with_arguments_gives_its_caller_the_collector_back_unfrozen(tmp_path):
    code = (
        "import gc\n"
        "from dockpy.cli import main\n"
        f"main(['--root', {str(tmp_path)!r}, 'images', '--quiet'])\n"
        "print(gc.isenabled(), gc.get_freeze_count())\n"
    )
    result = run_python(code)
    assert result.stdout.split()[-2:] == ["True", "0"]
