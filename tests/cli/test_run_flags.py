"""The run/create flags CI scripts pass, through the ``dockpy`` command, probed from inside a busybox container.

Each flag is checked where a program sees it (``env``, /etc/hosts,
/proc/self/status, ``ulimit``, ``mount``, ``id``) and where a script reads
it back (``inspect``, ``ps --format``, the cid file); each bad input fails
with one line, exit 125, and leaves no container.
"""

import json
import resource

import pytest

from tests.conftest import requires_root

pytestmark = requires_root

# Docker's 14 default capabilities as the kernel shows them (CapEff of a root process).
DEFAULT_CAP_MASK = "00000000a80425fb"


@pytest.fixture
def run(dockpy, build_root):
    """``run(*options, command=...)``: ``dockpy run --rm`` on the busybox image; the program's stdout."""

    def start(*options, command):
        return dockpy("run", "--rm", *options, "busybox", *command, check=True).stdout

    return start


@pytest.fixture
def created(dockpy, build_root):
    """``created(*options)``: a ``dockpy create`` container of busybox (``sleep 600``), removed afterwards; its id."""
    made = []

    def create(*options, command=("sleep", "600")):
        container = dockpy("create", *options, "busybox", *command, check=True).stdout.strip()
        made.append(container)
        return container

    yield create
    for container in made:
        dockpy("rm", "-f", container)


def inspect(dockpy, container) -> dict:
    return json.loads(dockpy("inspect", container, check=True).stdout)[0]


def refused(dockpy, *options):
    """``dockpy run`` with a bad flag: its stderr, once it was checked to be one line, exit 125, no container."""
    result = dockpy("run", "--rm", *options, "busybox", "true")
    assert result.returncode == 125
    assert len(result.stderr.strip().splitlines()) <= 2  # the error, and at most a hint
    assert result.stderr.startswith("dockpy: error: ")
    assert dockpy("ps", "-a", "-q", check=True).stdout == ""
    return result.stderr


def test_env_file_sets_variables_verbatim_and_dash_e_wins(run, tmp_path, monkeypatch):
    env_file = tmp_path / "ci.env"
    env_file.write_text('# settings\nMODE=test\nQUOTED="kept"\nFROM_CALLER\nOVERRIDDEN=file\n')
    monkeypatch.setenv("FROM_CALLER", "caller")
    output = run("--env-file", str(env_file), "-e", "OVERRIDDEN=flag", command=("env",)).splitlines()
    assert {"MODE=test", 'QUOTED="kept"', "FROM_CALLER=caller", "OVERRIDDEN=flag"} <= set(output)


def test_labels_from_flags_and_files_show_in_inspect_and_ps(dockpy, created, tmp_path):
    label_file = tmp_path / "labels"
    label_file.write_text("team=ci\nstage=file\n")
    container = created("-l", "stage=flag", "--label", "bare", "--label-file", str(label_file))
    assert inspect(dockpy, container)["Config"]["Labels"] == {"team": "ci", "stage": "flag", "bare": ""}
    listed = dockpy("ps", "-a", "--format", '{{.Label "team"}} {{.Labels}}', check=True).stdout
    assert listed == "ci bare=,stage=flag,team=ci\n"


def test_cidfile_holds_the_new_containers_id(dockpy, created, tmp_path):
    cidfile = tmp_path / "cid"
    container = created("--cidfile", str(cidfile))
    assert cidfile.read_text() == container


def test_a_foreground_run_writes_its_cidfile_too(run, dockpy, tmp_path):
    cidfile = tmp_path / "cid"
    run("--cidfile", str(cidfile), command=("true",))
    assert len(cidfile.read_text()) == 64


def test_an_existing_cidfile_is_refused_and_kept(dockpy, build_root, tmp_path):
    cidfile = tmp_path / "cid"
    cidfile.write_text("earlier")
    assert "container ID file found" in refused(dockpy, "--cidfile", str(cidfile))
    assert cidfile.read_text() == "earlier"


def test_add_host_appends_lines_to_etc_hosts(run):
    hosts = run("--add-host", "db:10.0.0.5", "--add-host", "cache=::1", command=("cat", "/etc/hosts"))
    assert hosts.endswith("10.0.0.5\tdb\n::1\tcache\n")


def test_tmpfs_is_mounted_with_dockers_default_options(run):
    mounts = run("--tmpfs", "/scratch", command=("sh", "-c", "mount | grep ' /scratch '"))
    assert mounts.startswith("tmpfs on /scratch type tmpfs (rw,nosuid,nodev,noexec")


def test_tmpfs_options_override_the_defaults(run):
    mounts = run("--tmpfs", "/scratch:exec,size=1m", command=("sh", "-c", "mount | grep ' /scratch '"))
    assert "noexec" not in mounts and "size=1024k" in mounts


def test_a_tmpfs_on_a_file_fails_the_start_with_one_line(dockpy, build_root):
    result = dockpy("run", "--rm", "--tmpfs", "/etc/passwd", "busybox", "true")
    assert (result.returncode, result.stderr) == (125, "dockpy: error: --tmpfs destination is not a directory: /etc/passwd\n")


def test_a_read_only_root_keeps_its_tmpfs_writable(run):
    assert run("--read-only", "--tmpfs", "/tmp", command=("sh", "-c", "touch /tmp/x && echo written")) == "written\n"


def test_cap_add_and_cap_drop_change_the_effective_set(run):
    assert run(command=("grep", "CapEff", "/proc/self/status")).split()[1] == DEFAULT_CAP_MASK
    effective = run("--cap-drop", "ALL", "--cap-add", "chown", command=("grep", "CapEff", "/proc/self/status"))
    assert effective.split()[1] == "0000000000000001"


def test_cap_add_shows_in_host_config(dockpy, created):
    host_config = inspect(dockpy, created("--cap-add", "CAP_NET_ADMIN", "--cap-drop", "mknod"))["HostConfig"]
    assert (host_config["CapAdd"], host_config["CapDrop"]) == (["NET_ADMIN"], ["MKNOD"])


def test_ulimit_sets_the_soft_and_hard_limits(run):
    assert run("--ulimit", "nofile=100:200", command=("sh", "-c", "ulimit -n; ulimit -Hn")) == "100\n200\n"


def test_a_tiny_open_file_limit_leaves_the_runtime_enough_to_start_the_program(run):
    assert run("--ulimit", "nofile=5", command=("sh", "-c", "ulimit -n")) == "5\n"


def test_group_add_adds_supplementary_groups_by_name_or_number(run):
    assert run("--group-add", "staff", "--group-add", "4242", "-u", "nobody", command=("id", "-G")).split() == [
        "65534", "50", "4242"]


def test_exec_gets_the_added_groups_too(dockpy, created):
    container = created("--group-add", "staff")
    dockpy("start", container, check=True)
    assert dockpy("exec", container, "id", "-G", check=True).stdout.split() == ["0", "10", "50"]


def test_stop_uses_the_stop_signal_and_timeout_given(dockpy, created):
    trap = "trap 'exit 42' USR1; while :; do sleep 0.1; done"
    container = created("--stop-signal", "USR1", "--stop-timeout", "30", command=("sh", "-c", trap))
    dockpy("start", container, check=True)
    dockpy("stop", container, check=True)
    assert inspect(dockpy, container)["State"]["ExitCode"] == 42
    assert {key: inspect(dockpy, container)["Config"][key] for key in ("StopSignal", "StopTimeout")} == {
        "StopSignal": "USR1", "StopTimeout": 30}


def test_inspect_shows_the_namespace_flags_in_dockers_shapes(dockpy, created):
    container = created("--add-host", "db:10.0.0.5", "--tmpfs", "/run:size=1m", "--ulimit", "nproc=50:60",
                        "--group-add", "staff")
    host_config = inspect(dockpy, container)["HostConfig"]
    assert host_config["ExtraHosts"] == ["db:10.0.0.5"]
    assert host_config["Tmpfs"] == {"/run": "size=1m"}
    assert host_config["Ulimits"] == [{"Name": "nproc", "Soft": 50, "Hard": 60}]
    assert host_config["GroupAdd"] == ["staff"]


@pytest.mark.parametrize("options, message", [
    (("--env-file", "/nonexistent/ci.env"), "open /nonexistent/ci.env: no such file or directory"),
    (("-l", "=x"), "invalid label '=x': empty name"),
    (("--add-host", "db"), "bad format for add-host"),
    (("--add-host", "gw:host-gateway"), "host-gateway is not supported"),
    (("--tmpfs", "scratch"), "mount path must be absolute"),
    (("--tmpfs", "/scratch:colour=red"), "invalid tmpfs option"),
    (("--cap-add", "FLY"), 'unknown capability: "CAP_FLY"'),
    (("--ulimit", "nofile=3:2"), "soft limit must be less than or equal to hard limit"),
    (("--stop-signal", "SIGNOPE"), "invalid signal: SIGNOPE"),
    (("--stop-signal", "0"), "invalid signal: 0"),
    (("--stop-signal", "999"), "invalid signal: 999"),
])
def test_bad_flags_fail_with_one_line_and_leave_no_container(dockpy, build_root, options, message):
    assert message in refused(dockpy, *options)


def test_a_ulimit_above_dockpys_own_hard_limit_is_refused(dockpy, build_root):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("this host's open-file limit is unlimited: no request is above it")
    assert "above this host's hard limit" in refused(dockpy, "--ulimit", f"nofile={hard + 1}")


def test_an_unknown_added_group_fails_the_start_with_one_line(dockpy, build_root):
    result = dockpy("run", "--rm", "--group-add", "nosuchgroup", "busybox", "true")
    assert result.returncode == 125
    assert "unable to find group nosuchgroup" in result.stderr


@pytest.mark.parametrize("flag, value", [
    ("--add-host", "db:10.0.0.5"), ("--tmpfs", "/run"), ("--cap-add", "NET_ADMIN"), ("--cap-drop", "ALL"),
    ("--ulimit", "nproc=10"), ("--group-add", "staff"),
])
def test_kvm_refuses_each_namespace_only_flag_by_name(dockpy, build_root, flag, value):
    result = dockpy("run", "--rm", "--isolation", "kvm", flag, value, "busybox", "true")
    assert result.returncode == 125
    assert result.stderr.startswith(f"dockpy: error: {flag} is not available with --isolation kvm")
