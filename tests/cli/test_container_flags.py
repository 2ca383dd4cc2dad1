"""The flags Docker CI scripts pass to ps, logs, rm, exec and wait, through the ``dockpy`` command with real
busybox containers."""

import pytest

from tests.conftest import requires_root

pytestmark = requires_root


@pytest.fixture
def container(dockpy, build_root):
    """``container(name, *command, detach=True)``: a busybox container, run (detached) or left created; removed after."""
    made = []

    def make(name, *command, detach=True):
        verb = ("run", "-d") if detach else ("create",)
        made.append(dockpy(*verb, "--name", name, "busybox", *command, check=True).stdout.strip())
        return made[-1]

    yield make
    for container_id in made:
        dockpy("rm", "-f", container_id)


def test_ps_quiet_with_a_status_filter_prints_the_exited_containers_ids(dockpy, container):
    done = container("done", "true")
    up = container("up", "sleep", "60")
    dockpy("wait", done, check=True)
    assert dockpy("ps", "-q", "-f", "status=exited", check=True).stdout.split() == [done[:12]]
    assert dockpy("ps", "-q", "-f", "status=running", check=True).stdout.split() == [up[:12]]


def test_ps_all_quiet_with_a_name_filter_prints_the_matching_ids(dockpy, container):
    web = container("web", "true", detach=False)
    container("db", "true", detach=False)
    assert dockpy("ps", "-aq", "-f", "name=web", check=True).stdout.split() == [web[:12]]


def test_ps_ancestor_filter_finds_containers_of_the_image(dockpy, container):
    first = container("first", "true", detach=False)
    assert dockpy("ps", "-aq", "-f", "ancestor=busybox", check=True).stdout.split() == [first[:12]]
    assert dockpy("ps", "-aq", "-f", "ancestor=other", check=True).stdout == ""


def finished(dockpy, container_id) -> str:
    dockpy("wait", container_id, check=True)
    return container_id


def test_logs_tail_prints_the_last_lines_of_a_detached_containers_output(dockpy, container):
    counter = finished(dockpy, container("counter", "sh", "-c", "for n in 1 2 3 4 5; do echo $n; done"))
    assert dockpy("logs", "--tail", "2", counter, check=True).stdout == "4\n5\n"
    assert dockpy("logs", "-n", "all", counter, check=True).stdout == "1\n2\n3\n4\n5\n"


@pytest.mark.parametrize("flag", [("-t",), ("--since", "10m"), ("--until", "1h")])
def test_logs_refuses_flags_needing_each_lines_time_in_one_line(dockpy, container, flag):
    quiet = finished(dockpy, container("quiet", "true"))
    result = dockpy("logs", *flag, quiet)
    assert result.returncode == 125 and result.stdout == ""
    assert result.stderr.startswith("dockpy: error: logs --") and "not supported" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_exec_detach_returns_at_once_and_the_command_runs_on_in_the_container(dockpy, container):
    up = container("host", "sleep", "60")
    result = dockpy("exec", "-d", up, "sh", "-c", "sleep 1; echo done > /ran")
    assert (result.returncode, result.stdout) == (0, "")
    # Poll (not a timed assertion): the detached command finishes a second later.
    check = ("exec", up, "sh", "-c", "for n in $(seq 100); do [ -f /ran ] && break; sleep 0.1; done; cat /ran")
    assert dockpy(*check, check=True).stdout == "done\n"


def test_exec_env_file_sets_variables_that_dash_e_overrides(dockpy, container, tmp_path):
    up = container("envfile", "sleep", "60")
    env_file = tmp_path / "vars.env"
    env_file.write_text("# a comment\nGREETING=hello\nWHO=file\n")
    result = dockpy("exec", "--env-file", str(env_file), "-e", "WHO=flag", up, "sh", "-c", 'echo "$GREETING $WHO"', check=True)
    assert result.stdout == "hello flag\n"


def test_exec_detach_reports_a_command_that_cannot_start_as_exec_does(dockpy, container):
    up = container("host", "sleep", "60")
    foreground, detached = dockpy("exec", up, "no-such-program"), dockpy("exec", "-d", up, "no-such-program")
    assert detached.returncode == foreground.returncode != 0
    assert detached.stderr.splitlines()[0] == foreground.stderr.splitlines()[0]


def test_rm_with_volumes_removes_the_container_as_docker_scripts_expect(dockpy, container):
    done = finished(dockpy, container("gone", "true"))
    assert dockpy("rm", "-v", done, check=True).stdout == done + "\n"
    assert dockpy("ps", "-aq", check=True).stdout == ""


def test_wait_prints_each_containers_exit_code_in_order(dockpy, container):
    first, second = container("first", "sh", "-c", "exit 3"), container("second", "true")
    assert dockpy("wait", first, second, check=True).stdout == "3\n0\n"


def test_kill_with_a_signal_name_sends_that_signal(dockpy, container):
    # PID 1 gets only the signals it handles: this one exits 7 on SIGTERM.
    up = container("up", "sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done")
    dockpy("kill", "-s", "TERM", up, check=True)
    assert dockpy("wait", up, check=True).stdout == "7\n"
