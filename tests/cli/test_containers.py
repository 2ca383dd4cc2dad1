"""The container commands' own logic: ps's STATUS column, worded as Docker words it (HumanDuration, as its
CREATED column), how logs reads --tail, and rm -f of a container that is not there."""

from types import SimpleNamespace

import pytest

from dockpy.cli import main
from dockpy.cli.containers import status_text, tail_lines

NOW = 1_700_000_000.0


@pytest.mark.parametrize("seconds, status", [
    (0.4, "Exited (1) Less than a second ago"),
    (50 * 60, "Exited (1) 50 minutes ago"),
    (65 * 60, "Exited (1) About an hour ago"),
    (90 * 60, "Exited (1) 2 hours ago"),
    (3 * 86400, "Exited (1) 3 days ago"),
])
def test_an_exited_containers_status_rounds_as_dockers_human_duration(seconds, status):
    record = SimpleNamespace(state="exited", exit_code=1, finished=NOW - seconds, started=NOW - seconds - 1)
    assert status_text(record, NOW) == status


def test_a_running_containers_status_is_up_for_as_long_as_it_has_run():
    record = SimpleNamespace(state="running", started=NOW - 61, finished=None, exit_code=None)
    assert status_text(record, NOW) == "Up About a minute"


def test_a_container_never_started_is_created():
    assert status_text(SimpleNamespace(state="created", started=None, finished=None, exit_code=None), NOW) == "Created"


@pytest.mark.parametrize("text, count", [("3", 3), ("0", 0), ("all", None), ("-1", None), ("many", None)])
def test_logs_tail_reads_a_count_and_anything_else_as_the_whole_log_as_docker_does(text, count):
    assert tail_lines(text) == count


def test_rm_force_of_a_container_that_is_not_there_warns_and_succeeds_as_docker_does(storage_root, capsys):
    assert main(["rm", "-f", "ghost"]) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "dockpy: warning: no such container: ghost\n")


def test_rm_of_a_container_that_is_not_there_is_an_error(storage_root, capsys):
    assert main(["rm", "ghost"]) == 125
    assert capsys.readouterr().err == "dockpy: error: no such container: ghost\n"
