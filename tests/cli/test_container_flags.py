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
