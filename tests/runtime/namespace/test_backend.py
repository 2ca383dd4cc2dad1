"""What a program sees inside a namespace container: a probe runs inside and reports (crun's tests' model).

Each test runs ``dockpy run --rm --rootfs BUSYBOX ...`` as a user would and
asserts on the probe's output and exit code.
"""

import os

import pytest

from dockpy.errors import ContainerSetupError
from dockpy.runtime.namespace.backend import _fork_into, _new_pid_namespace
from tests.conftest import requires_root

pytestmark = requires_root


def probe(run_in_busybox, script, *options):
    result = run_in_busybox("sh", "-c", script, options=options)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_program_is_pid_1(run_in_busybox):
    assert probe(run_in_busybox, "echo $$") == "1\n"


def test_a_fork_into_a_new_pid_namespace_makes_pid_1_and_leaves_later_children_in_ours():
    child = _fork_into(_new_pid_namespace)
    if child == 0:
        os._exit(0 if os.getpid() == 1 else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert os.readlink("/proc/self/ns/pid_for_children") == os.readlink("/proc/self/ns/pid")


def test_a_pid_namespace_that_cannot_be_entered_is_a_setup_error_and_changes_nothing():
    def refused():
        raise PermissionError(1, "unshare: Operation not permitted")

    with pytest.raises(ContainerSetupError, match="unshare: Operation not permitted"):
        _fork_into(refused)
    assert os.readlink("/proc/self/ns/pid_for_children") == os.readlink("/proc/self/ns/pid")


def test_only_the_containers_processes_are_visible(run_in_busybox):
    assert probe(run_in_busybox, "echo /proc/[0-9]*") == "/proc/1\n"  # the shell's own glob: no second process


def test_with_init_the_program_runs_under_dockpys_init_as_pid_1(run_in_busybox):
    assert probe(run_in_busybox, "echo $$ $PPID", "--init") == "2 1\n"


def test_init_reaps_orphaned_zombies(run_in_busybox):
    script = "(sleep 0.1 &) ; sleep 0.3; ps -o stat | grep -c Z || true"
    assert probe(run_in_busybox, script, "--init").strip() == "0"


def test_the_cgroup_namespace_is_rooted_at_the_containers_cgroup(run_in_busybox):
    lines = probe(run_in_busybox, "cat /proc/self/cgroup").splitlines()
    assert lines and all(line.endswith(":/") for line in lines)


def test_the_hostname_is_the_short_id_or_the_given_one(run_in_busybox):
    assert probe(run_in_busybox, "hostname", "--hostname", "probe-host") == "probe-host\n"
    assert len(probe(run_in_busybox, "hostname").strip()) == 12


def test_no_host_mount_point_or_storage_path_shows_in_the_mount_table(run_in_busybox, storage_root, busybox_rootfs):
    mountinfo = probe(run_in_busybox, "cat /proc/self/mountinfo")
    mount_points = {line.split()[4] for line in mountinfo.splitlines()}
    assert mount_points <= {"/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/etc/hosts",
                            "/etc/hostname", "/etc/resolv.conf"} | {p for p in mount_points if p.startswith(("/proc/", "/sys/"))}
    root_line = next(line for line in mountinfo.splitlines() if line.split()[4] == "/")
    assert str(storage_root.path) not in root_line and str(busybox_rootfs) not in root_line


def test_dev_holds_only_dockers_default_devices(run_in_busybox):
    listing = probe(run_in_busybox, "ls /dev | sort | tr '\\n' ' '")
    assert listing == "core fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero "


@pytest.mark.parametrize("path", ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"])
def test_masked_paths_are_empty(run_in_busybox, path):
    assert probe(run_in_busybox, f"cat {path} 2>/dev/null; ls {path} 2>/dev/null; true").strip() in ("", path)


def test_proc_sys_and_sysrq_trigger_are_read_only(run_in_busybox):
    output = probe(run_in_busybox, "echo 1 > /proc/sys/kernel/domainname 2>&1 || echo refused-sysctl;"
                                   "echo h > /proc/sysrq-trigger 2>&1 || echo refused-sysrq")
    assert "refused-sysctl" in output and "refused-sysrq" in output


def test_mount_and_remount_fail(run_in_busybox):
    output = probe(run_in_busybox, "mount -t tmpfs none /mnt 2>/dev/null || echo no-mount;"
                                   "mount -o remount,rw /sys 2>/dev/null || echo no-remount")
    assert output == "no-mount\nno-remount\n"


def test_module_loading_fails(run_in_busybox):
    assert probe(run_in_busybox, "insmod /nonexistent.ko 2>/dev/null || modprobe dummy 2>/dev/null || echo refused") == "refused\n"


def test_raw_block_device_access_fails(run_in_busybox):
    major, minor = _root_device()
    script = f"mknod /tmp/disk b {major} {minor} && head -c 512 /tmp/disk >/dev/null 2>&1 || echo refused"
    assert probe(run_in_busybox, script) == "refused\n"


def test_capabilities_are_dockers_default_14(run_in_busybox):
    status = probe(run_in_busybox, "grep Cap /proc/self/status")
    caps = dict(line.split(":\t") for line in status.splitlines())
    assert caps["CapBnd"] == caps["CapEff"] == caps["CapPrm"] == "00000000a80425fb"
    assert caps["CapInh"] == caps["CapAmb"] == "0000000000000000"


def test_a_non_root_user_has_no_effective_capabilities_and_no_new_privs(run_in_busybox):
    status = probe(run_in_busybox, "grep -E 'CapEff|NoNewPrivs' /proc/self/status", "-u", "app")
    assert "CapEff:\t0000000000000000" in status and "NoNewPrivs:\t1" in status


def test_open_files_limit_never_exceeds_the_hosts_hard_limit(run_in_busybox):
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert probe(run_in_busybox, "ulimit -n") == f"{hard}\n"


def test_network_none_has_only_loopback_and_it_is_up(run_in_busybox):
    links = probe(run_in_busybox, "ip -o link").splitlines()
    assert len(links) == 1 and "lo:" in links[0] and "UP" in links[0]
    assert probe(run_in_busybox, "ping -c1 -W1 127.0.0.1 >/dev/null && echo reachable") == "reachable\n"


def test_network_host_sees_the_hosts_interfaces(run_in_busybox):
    host_links = len(os.listdir("/sys/class/net"))
    assert probe(run_in_busybox, "ls /sys/class/net | wc -l", "--network", "host").strip() == str(host_links)


def test_read_only_root_refuses_writes_but_volumes_stay_writable(run_in_busybox, tmp_path):
    script = "touch /file 2>/dev/null || echo ro-root; touch /data/file && echo rw-volume"
    assert probe(run_in_busybox, script, "--read-only", "-v", f"{tmp_path}:/data") == "ro-root\nrw-volume\n"
    assert (tmp_path / "file").exists()


def test_a_read_only_volume_refuses_writes(run_in_busybox, tmp_path):
    assert probe(run_in_busybox, "touch /data/f 2>/dev/null || echo refused", "-v", f"{tmp_path}:/data:ro") == "refused\n"


def test_an_rm_containers_root_is_a_volatile_overlay_and_a_kept_ones_is_not(run_in_busybox, dockpy):
    root_options = "grep ' / / ' /proc/self/mountinfo"
    assert "volatile" in probe(run_in_busybox, root_options)
    kept = run_in_busybox("sh", "-c", root_options, options=["--name", "kept"], remove=False)
    dockpy("rm", "kept", check=True)
    assert kept.returncode == 0 and "overlay" in kept.stdout and "volatile" not in kept.stdout


def test_etc_files_come_from_dockpy(run_in_busybox):
    output = probe(run_in_busybox, "cat /etc/hostname; grep -c localhost /etc/hosts", "--hostname", "named")
    assert output.splitlines()[0] == "named" and int(output.splitlines()[1]) >= 1


# -- exit codes --------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [0, 1, 42])
def test_the_programs_exit_code_is_dockpys(run_in_busybox, code):
    assert run_in_busybox("sh", "-c", f"exit {code}").returncode == code


def test_a_missing_command_exits_127_with_a_message(run_in_busybox):
    result = run_in_busybox("no-such-command")
    assert result.returncode == 127
    assert 'exec: "no-such-command": executable file not found in $PATH' in result.stderr


def test_a_file_that_is_not_executable_exits_126(run_in_busybox):
    result = run_in_busybox("/etc/passwd")
    assert result.returncode == 126 and "permission denied" in result.stderr


def test_a_setup_failure_exits_125_naming_the_problem(run_in_busybox):
    result = run_in_busybox("true", options=["-u", "nosuchuser"])
    assert result.returncode == 125
    assert result.stderr.startswith("dockpy: error: unable to find user nosuchuser")


def test_death_by_signal_exits_128_plus_the_signal(run_in_busybox):
    assert run_in_busybox("sh", "-c", "kill -9 $$", options=["--init"]).returncode == 137


# -- process environment ----------------------------------------------------------------------------

def test_user_flag_resolves_names_and_supplementary_groups_in_the_image(run_in_busybox):
    assert probe(run_in_busybox, "id", "-u", "app") == "uid=1000(app) gid=1000(app) groups=63(audio),1050(appstaff)\n"


def test_user_and_group_flag(run_in_busybox):
    assert probe(run_in_busybox, "id -u; id -g", "-u", "1000:50") == "1000\n50\n"


def test_env_has_docker_defaults_and_home_from_passwd(run_in_busybox):
    env = probe(run_in_busybox, "env", "-u", "app", "-e", "EXTRA=1").splitlines()
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in env
    assert "HOME=/home/app" in env and "EXTRA=1" in env and any(e.startswith("HOSTNAME=") for e in env)


def test_a_missing_workdir_is_created(run_in_busybox):
    assert probe(run_in_busybox, "pwd", "-w", "/new/dir") == "/new/dir\n"


def test_tty_flag_gives_the_program_a_terminal(run_in_busybox):
    result = run_in_busybox("sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty; readlink /proc/self/fd/1", options=["-t"])
    assert result.returncode == 0
    assert "is-a-tty" in result.stdout and "/dev/pts/" in result.stdout


def test_without_tty_stdio_is_not_a_terminal_and_stdin_works_with_i(run_in_busybox):
    result = run_in_busybox("sh", "-c", "cat; test -t 0 || echo no-tty", options=["-i"], input=b"piped\n")
    assert result.stdout == "piped\nno-tty\n"


def _root_device() -> tuple[int, int]:
    device = os.stat("/").st_dev
    return os.major(device), os.minor(device)
