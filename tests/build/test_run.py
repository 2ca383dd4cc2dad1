"""RUN through the namespace runtime: forms, environment, heredocs, network, mounts, secrets, failures."""

import os

import pytest

from dockpy.build.progress import StepOutput
from dockpy.errors import BuildError, DockerfileError
from dockpy.image.store import ImageStore
from dockpy.layers.compression import open_layer
from tests.build.conftest import image_files


def output_of(events) -> list[str]:
    return [event.line for event in events.of(StepOutput)]


def layer_bytes(root, image) -> bytes:
    with ImageStore(root) as store:
        return b"".join(open_layer(store.content, layer.digest).read() for layer in image.layers)


def test_shell_form_runs_in_the_stage_shell_with_env_args_and_workdir(build):
    _, events = build('FROM busybox\nARG V=7\nENV E=env\nWORKDIR /w\nRUN echo "v=$V e=$E cwd=$(pwd)"\n')
    assert output_of(events) == ["v=7 e=env cwd=/w"]


def test_exec_form_is_not_run_through_a_shell(build):
    _, events = build('FROM busybox\nRUN ["echo", "$HOME", "a  b"]\n')
    assert output_of(events) == ["$HOME a  b"]


def test_user_applies_to_later_run_steps(build):
    _, events = build("FROM busybox\nUSER nobody\nRUN id -u\n")
    assert output_of(events) == ["65534"]


def test_what_run_writes_is_the_layer(build):
    result, _ = build("FROM busybox\nRUN mkdir -p /data && echo hi > /data/f && rm /etc/group\n")
    files = image_files(build.root, result.image)
    assert (files / "data/f").read_text() == "hi\n"
    assert not (files / "etc/group").exists()


def test_a_run_that_changes_nothing_adds_an_empty_layer_history_entry(build):
    result, _ = build("FROM busybox\nRUN true\n")
    assert len(result.image.layers) == 1
    assert result.image.config.history[-1].empty_layer


def test_mount_points_the_runtime_made_do_not_reach_the_layer(build):
    result, _ = build("FROM scratch\nCOPY --from=busybox /bin/busybox /bin/sh\nRUN /bin/sh -c 'echo x > /x'\n")
    files = image_files(build.root, result.image)
    assert sorted(os.listdir(files)) == ["bin", "x"]


def test_a_heredoc_is_the_script(build):
    result, events = build("FROM busybox\nRUN <<EOF\necho one\necho two > /two\nEOF\n")
    assert output_of(events) == ["one"]
    assert (image_files(build.root, result.image) / "two").read_text() == "two\n"


def test_a_heredoc_inside_a_command_is_read_by_the_shell(build):
    result, _ = build("FROM busybox\nENV X=expanded\nRUN cat <<EOF > /f\n$X\nEOF\nRUN cat <<'EOF' > /g\n$X\nEOF\n")
    files = image_files(build.root, result.image)
    assert (files / "f").read_text() == "expanded\n"
    assert (files / "g").read_text() == "$X\n"


def test_a_heredoc_with_a_shebang_runs_its_interpreter(build):
    _, events = build("FROM busybox\nRUN <<EOF\n#!/bin/sh -e\necho from-script\nEOF\n")
    assert output_of(events) == ["from-script"]


def test_a_failing_run_names_the_line_and_status_and_shows_its_last_output(build):
    with ImageStore(build.root) as store:
        revisions = store.db.execute("SELECT count(*) FROM revisions").fetchone()[0]
    with pytest.raises(BuildError) as failure:
        build("FROM busybox\nRUN echo before; echo oops >&2; exit 3\n", tags=("t:1",))
    assert "Dockerfile:2: RUN" in failure.value.message
    assert "exit status 3" in failure.value.message
    assert "oops" in failure.value.hint
    with ImageStore(build.root) as store:
        assert store.db.execute("SELECT count(*) FROM revisions").fetchone()[0] == revisions


def test_network_none_has_only_loopback(build):
    _, events = build("FROM busybox\nRUN --network=none ls /sys/class/net\n")
    assert output_of(events) == ["lo"]


def test_a_cache_mount_persists_between_builds_and_stays_out_of_the_layer(build):
    dockerfile = "FROM busybox\nARG N\nRUN --mount=type=cache,target=/cache echo $N >> /cache/log && cat /cache/log\n"
    build(dockerfile, build_args={"N": "1"})
    result, events = build(dockerfile, build_args={"N": "2"})
    assert output_of(events) == ["1", "2"]
    assert not (image_files(build.root, result.image) / "cache").exists()


@pytest.mark.parametrize("sharing", ["locked", "private"])
def test_a_locked_or_private_cache_mount_persists_between_builds(build, sharing):
    dockerfile = f"FROM busybox\nARG N\nRUN --mount=type=cache,target=/c,sharing={sharing} echo $N >> /c/log && cat /c/log\n"
    build(dockerfile, build_args={"N": "1"})
    _, events = build(dockerfile, build_args={"N": "2"})
    assert output_of(events) == ["1", "2"]


def test_a_bind_mount_shows_the_context_read_only(build):
    _, events = build("FROM busybox\nRUN --mount=type=bind,source=conf,target=/c cat /c/a && ! touch /c/b\n",
                      {"conf/a": "from-context\n"})
    assert output_of(events)[0] == "from-context"


def test_a_bind_mount_from_a_stage(build):
    _, events = build("FROM busybox AS tools\nRUN echo tool > /t\nFROM busybox\n"
                      "RUN --mount=type=bind,from=tools,target=/tools cat /tools/t\n")
    assert output_of(events) == ["tool"]


def test_a_tmpfs_mount_starts_empty_and_is_discarded(build):
    result, _ = build("FROM busybox\nRUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch\n")
    assert not (image_files(build.root, result.image) / "scratch").exists()


def test_a_tmpfs_mount_is_a_tmpfs_of_the_size_asked_for(build):
    _, events = build("FROM busybox\nRUN --mount=type=tmpfs,target=/scratch,size=2m "
                      "grep ' /scratch ' /proc/mounts && df -k /scratch | tail -n 1\n")
    mount_line, df_line = output_of(events)
    assert mount_line.split()[2] == "tmpfs" and "nosuid" in mount_line.split()[3]
    assert df_line.split()[1] == "2048"


def test_what_a_step_writes_to_a_tmpfs_is_not_in_the_layer_or_left_mounted(build):
    result, _ = build("FROM busybox\nRUN --mount=type=tmpfs,target=/scratch echo kept > /kept && "
                      "echo gone > /scratch/gone\n")
    assert b"gone" not in layer_bytes(build.root, result.image)
    assert b"kept" in layer_bytes(build.root, result.image)
    assert str(build.root.tmp) not in open("/proc/self/mountinfo").read()


def test_a_secret_is_readable_in_the_step_and_absent_from_layers_and_history(build, tmp_path):
    secret = tmp_path / "token"
    secret.write_text("s3cr3t-value")
    result, events = build(
        "FROM busybox\nRUN --mount=type=secret,id=token cat /run/secrets/token > /dev/null && "
        "wc -c < /run/secrets/token && echo done > /done\n",
        secrets={"token": str(secret)},
    )
    assert output_of(events) == ["12"]
    assert b"s3cr3t-value" not in layer_bytes(build.root, result.image)
    assert "s3cr3t" not in str(result.image.config)
    assert not (image_files(build.root, result.image) / "run/secrets").exists()


def test_a_required_secret_that_was_not_given_fails(build):
    with pytest.raises(DockerfileError, match="secret token is required"):
        build("FROM busybox\nRUN --mount=type=secret,id=token,required cat /run/secrets/token\n")


def test_a_run_step_is_cached_with_its_environment(build):
    dockerfile = "FROM busybox\nARG V\nRUN echo $V\n"
    build(dockerfile, build_args={"V": "1"})
    _, again = build(dockerfile, build_args={"V": "1"})
    _, changed = build(dockerfile, build_args={"V": "2"})
    assert output_of(again) == [] and output_of(changed) == ["2"]


def test_a_stage_built_on_an_earlier_stage_sees_the_args_that_stage_declared(build):
    """BuildKit: ``FROM base`` inherits base's ARGs with their values (in RUN and in expansion), not into ENV."""
    result, events = build("FROM busybox AS base\nARG V=7\nFROM base\nWORKDIR /w$V\nRUN echo \"v=$V\"\n",
                           build_args={"V": "8"})
    assert output_of(events) == ["v=8"]
    assert result.image.config.config.working_dir == "/w8"
    assert not any(entry.startswith("V=") for entry in result.image.config.config.env)


def test_proxy_build_args_reach_run_but_not_the_history(build):
    result, events = build("FROM busybox\nRUN echo $HTTP_PROXY\n", build_args={"HTTP_PROXY": "http://proxy:3128"})
    assert output_of(events) == ["http://proxy:3128"]
    assert "proxy:3128" not in result.image.config.history[-1].created_by


def test_a_run_whose_program_cannot_start_names_the_line(build):
    with pytest.raises(BuildError, match=r'Dockerfile:3: RUN .*"/bin/sh": no such file'):
        build("FROM scratch\nCOPY a /a\nRUN true\n", {"a": "x"})
