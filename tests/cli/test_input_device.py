"""``-it`` without a terminal is refused as Docker refuses it: ``the input device is not a TTY``."""

import time

import pytest

from dockpy.cli import input_device
from dockpy.cli.input_device import check_input_is_a_terminal
from dockpy.errors import InvalidInputError
from dockpy.runtime.containers import EXITED, ContainerRecord, ContainerStore

NO_TTY = "dockpy: error: the input device is not a TTY"


@pytest.fixture
def exited(storage_root):
    """An exited container "job", recorded in-process (no root needed)."""
    store = ContainerStore(storage_root)
    store.add(ContainerRecord(id="ab" * 32, name="job", image="app", image_id="", command=("true",),
                              created=time.time(), state=EXITED, exit_code=0, finished=time.time()))
    store.close()


def test_interactive_and_tty_without_a_terminal_are_refused(monkeypatch):
    monkeypatch.setattr(input_device.os, "isatty", lambda fd: False)
    with pytest.raises(InvalidInputError, match="^the input device is not a TTY$"):
        check_input_is_a_terminal(interactive=True, tty=True)


@pytest.mark.parametrize("interactive, tty", [(True, False), (False, True), (False, False)])
def test_either_flag_alone_needs_no_terminal(monkeypatch, interactive, tty):
    monkeypatch.setattr(input_device.os, "isatty", lambda fd: False)
    check_input_is_a_terminal(interactive, tty)


def test_interactive_and_tty_on_a_terminal_are_accepted(monkeypatch):
    monkeypatch.setattr(input_device.os, "isatty", lambda fd: fd == 0)
    check_input_is_a_terminal(interactive=True, tty=True)


@pytest.mark.parametrize("isolation", ["namespace", "kvm"])
def test_run_it_from_a_pipe_fails_before_looking_the_image_up(dockpy, storage_root, isolation):
    result = dockpy("run", "-it", "--isolation", isolation, "no-such-image", "sh", input=b"")
    assert result.returncode == 125 and result.stderr.splitlines()[0] == NO_TTY
    assert dockpy("ps", "-aq", check=True).stdout == ""


@pytest.mark.parametrize("flags", [["-dit"], ["-t"], ["-i"]])
def test_run_without_both_flags_attached_goes_on_to_the_image(dockpy, storage_root, flags):
    result = dockpy("run", *flags, "no-such-image", "sh", input=b"")
    assert result.returncode == 125 and "not a TTY" not in result.stderr and "no-such-image" in result.stderr


def test_exec_it_from_a_pipe_is_refused_before_the_container_is_found_not_running(dockpy, exited):
    result = dockpy("exec", "-it", "job", "sh", input=b"")
    assert result.returncode == 125 and result.stderr.splitlines()[0] == NO_TTY


def test_exec_i_alone_goes_on_to_report_the_container_not_running(dockpy, exited):
    assert "is not running" in dockpy("exec", "-i", "job", "sh", input=b"").stderr


def test_exec_it_of_a_missing_container_reports_the_container_first_as_docker_does(dockpy, storage_root):
    result = dockpy("exec", "-it", "nope", "sh", input=b"")
    assert result.returncode == 125 and "not a TTY" not in result.stderr and "nope" in result.stderr
