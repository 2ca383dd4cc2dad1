"""The /dockpy/spec file: what the guest's busybox sh reads back from it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from dockpy.errors import InvalidInputError
from dockpy.runtime.kvm.guest_spec import DISK_LAYER, render_spec, spec_archive, writable_dir_names
from dockpy.runtime.spec import ContainerSpec, Process, RootFilesystem, VolumeMount

LAYERS = ("/dockpy/ram/1-2-3", DISK_LAYER)
needs_busybox = pytest.mark.skipif(shutil.which("busybox") is None, reason="busybox is not installed")


def _spec(args=("echo", "hi"), env=("PATH=/bin",), read_only=False, upper="/c/1/upper", volumes=()) -> ContainerSpec:
    return ContainerSpec(
        id="abc",
        rootfs=RootFilesystem(layers=("/l/1", "/l/0"), upperdir=upper, workdir="/c/1/work", read_only=read_only),
        process=Process(args=args, env=env, cwd="/srv", user="app:staff"),
        hostname="box",
        volumes=volumes,
    )


def _source(spec_text: str, script: str, tmp_path) -> str:
    (tmp_path / "spec").write_text(spec_text)
    command = f". {tmp_path}/spec; {script}"
    return subprocess.run(["busybox", "sh", "-c", command], capture_output=True, text=True, check=True).stdout


@needs_busybox
def test_arguments_and_environment_survive_quoting(tmp_path):
    awkward = ("sh", "-c", "echo \"$1\" 'x' $HOME; `id`", "it's", "two\nlines", "")
    spec = _spec(args=awkward, env=("A=b c", "Q='\"", "EMPTY="))
    output = _source(render_spec(spec, LAYERS), 'printf "%s\\0" "$@"', tmp_path)
    assert output.split("\0")[:-1] == ["A=b c", "Q='\"", "EMPTY=", *awkward]


@needs_busybox
def test_env_count_marks_where_arguments_begin(tmp_path):
    output = _source(render_spec(_spec(env=("A=1", "B=2")), LAYERS), 'echo "$env_count"', tmp_path)
    assert output == "2\n"


@needs_busybox
def test_entries_without_a_value_are_not_passed_to_env(tmp_path):
    output = _source(render_spec(_spec(env=("NOVALUE", "A=1")), LAYERS), 'echo "$env_count $1"', tmp_path)
    assert output == "1 A=1\n"


@needs_busybox
def test_process_and_root_settings_are_variables(tmp_path):
    spec = _spec(volumes=(VolumeMount("/host", "/data", read_only=True),))
    output = _source(render_spec(spec, LAYERS), 'echo "$hostname $layers $upper $work $workdir $user $volumes $volume_0_target $volume_0_read_only"', tmp_path)
    assert output == "box /dockpy/ram/1-2-3 disk upper work /srv app:staff 1 /data 1\n"


@needs_busybox
def test_the_command_is_looked_for_in_the_processs_path(tmp_path):
    spec = _spec(env=("PATH=/old", "A=1", "PATH=/usr/bin:/bin"))
    assert _source(render_spec(spec, LAYERS), 'echo "$search_path"', tmp_path) == "/usr/bin:/bin\n"


@needs_busybox
def test_without_a_path_the_command_is_looked_for_where_execvp_looks(tmp_path):
    assert _source(render_spec(_spec(env=("A=1",)), LAYERS), 'echo "$search_path"', tmp_path) == "/bin:/usr/bin\n"


@needs_busybox
def test_the_archive_brings_the_init_layers_hostname_and_hosts(tmp_path):
    subprocess.run(["busybox", "cpio", "-i", "-d"], input=spec_archive(_spec(), LAYERS), cwd=tmp_path, check=True, capture_output=True)
    etc = tmp_path / "dockpy/init-layer/etc"
    assert (etc / "hostname").read_text() == "box\n"
    assert "127.0.0.1\tlocalhost\n" in (etc / "hosts").read_text() and "127.0.1.1\tbox\n" in (etc / "hosts").read_text()
    assert (tmp_path / "dockpy/spec").read_text() == render_spec(_spec(), LAYERS)


def test_read_only_root_has_no_writable_dir():
    assert writable_dir_names(_spec(read_only=True)) is None


def test_upper_and_work_must_share_a_directory():
    with pytest.raises(InvalidInputError, match="in one directory"):
        writable_dir_names(_spec(upper="/elsewhere/upper"))


@pytest.mark.parametrize("name", ["up per", "up,per", "up:per"])
def test_upper_dir_names_that_would_split_a_mount_line_are_refused(name):
    with pytest.raises(InvalidInputError, match="spaces, commas or colons"):
        writable_dir_names(_spec(upper=f"/c/1/{name}"))
