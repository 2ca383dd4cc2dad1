"""``dockpy build`` end to end, as a user runs it: flags, output modes, errors and exit codes."""

import json

import pytest

from tests.store_listing import store_listing

DOCKERFILE = ('FROM busybox\nARG MSG=default\nCOPY hello.txt /hello.txt\nLABEL from=dockerfile\n'
              'CMD ["cat", "/hello.txt"]\n')


@pytest.fixture
def context(tmp_path):
    directory = tmp_path / "ctx"
    directory.mkdir()
    (directory / "Dockerfile").write_text(DOCKERFILE)
    (directory / "hello.txt").write_text("hello\n")
    return directory


def test_quiet_prints_only_the_image_id_and_tags_it(dockpy, build_root, context):
    result = dockpy("build", "-q", "-t", "hello:1", str(context))
    assert result.returncode == 0, result.stderr
    image_id = result.stdout.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    log = json.loads(dockpy("images", "--format", "json", check=True).stdout)
    assert any(row["Repository"] == "hello" and row["Id"] == image_id for row in log)


def test_plain_progress_prints_one_line_per_step_and_cache_results(dockpy, build_root, context):
    dockpy("build", "--progress", "plain", str(context), check=True)
    result = dockpy("build", "--progress", "plain", str(context), check=True)
    assert "#1 [stage-0 1/5] FROM busybox" in result.stderr
    assert "#3 CACHED" in result.stderr


def test_iidfile_label_build_arg_and_file_flags(dockpy, build_root, context, tmp_path):
    other = tmp_path / "Other.Dockerfile"
    other.write_text("FROM busybox\nARG MSG\nLABEL msg=$MSG\n")
    iidfile = tmp_path / "iid"
    dockpy("build", "-q", "-f", str(other), "--build-arg", "MSG=given", "--label", "extra=1",
           "--iidfile", str(iidfile), "-t", "flags:1", str(context), check=True)
    inspected = json.loads(dockpy("inspect", "flags:1", check=True).stdout)[0]
    labels = inspected["Config"]["Labels"]
    assert labels == {"msg": "given", "extra": "1"}
    assert iidfile.read_text().startswith("sha256:")


def test_target_and_gzip_compression(dockpy, build_root, tmp_path):
    context = tmp_path / "multi"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM busybox AS first\nCOPY Dockerfile /first\n"
                                        "FROM first\nCOPY Dockerfile /second\n")
    dockpy("build", "-q", "--target", "first", "--compression", "gzip", "-t", "multi:first", str(context), check=True)
    inspected = json.loads(dockpy("inspect", "multi:first", check=True).stdout)[0]
    assert len(inspected["RootFS"]["Layers"]) == 2


def test_a_dockerfile_error_is_one_line_and_exit_125(dockpy, build_root, tmp_path):
    context = tmp_path / "bad"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM busybox\nRUNN true\n")
    result = dockpy("build", str(context))
    assert result.returncode == 125
    assert result.stderr.startswith("dockpy: error: ")
    assert "Dockerfile:2: unknown instruction: RUNN" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_failing_run_exits_125_with_the_line_and_status(dockpy, build_root, tmp_path):
    context = tmp_path / "fail"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM busybox\nRUN echo broken-step; exit 7\n")
    result = dockpy("build", "--progress", "quiet", "-t", "fail:1", str(context))
    assert result.returncode == 125
    assert "Dockerfile:2: RUN" in result.stderr and "exit status 7" in result.stderr
    assert "broken-step" in result.stderr
    assert dockpy("inspect", "fail:1").returncode != 0


def test_secret_flag_reaches_the_run_step(dockpy, build_root, tmp_path):
    context = tmp_path / "secret"
    context.mkdir()
    (context / "Dockerfile").write_text('FROM busybox\n'
                                        'RUN --mount=type=secret,id=pw test "$(cat /run/secrets/pw)" = hunter2\n')
    (tmp_path / "pw").write_text("hunter2")
    dockpy("build", "-q", "--secret", f"id=pw,src={tmp_path / 'pw'}", str(context), check=True)


def test_the_dockerfile_can_come_from_standard_input(dockpy, build_root, context):
    result = dockpy("build", "-q", "-f", "-", str(context), input=b"FROM busybox\nCOPY hello.txt /from-stdin\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sha256:")


def test_a_context_that_is_a_file_is_named_as_not_a_directory(dockpy, storage_root, tmp_path):
    not_a_directory = tmp_path / "Dockerfile"
    not_a_directory.write_text("FROM busybox\n")
    result = dockpy("build", str(not_a_directory))
    assert result.returncode == 125
    assert result.stderr.splitlines()[0] == f"dockpy: error: build context {not_a_directory} is not a directory"


def test_a_missing_context_is_named_even_when_the_dockerfile_exists(dockpy, storage_root, tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM busybox\n")
    result = dockpy("build", "-f", str(dockerfile), str(tmp_path / "nowhere"))
    assert result.returncode == 125
    assert result.stderr.splitlines()[0] == f"dockpy: error: build context {tmp_path / 'nowhere'} does not exist"


def test_a_context_of_dash_takes_the_dockerfile_from_standard_input_with_an_empty_context(dockpy, build_root):
    """``docker build - < Dockerfile``, which CI scripts use for Dockerfiles that copy nothing."""
    result = dockpy("build", "-q", "-t", "stdin:1", "-", input=b"FROM busybox\nLABEL from=stdin\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(dockpy("inspect", "stdin:1", check=True).stdout)[0]["Config"]["Labels"] == {"from": "stdin"}
    copying = dockpy("build", "-", input=b"FROM busybox\nCOPY Dockerfile /\n")
    assert copying.returncode == 125 and "not found in the build context" in copying.stderr


def test_an_archive_on_standard_input_is_refused_with_a_hint(dockpy, storage_root):
    result = dockpy("build", "-", input=b"\x1f\x8b\x08\x00" + bytes(60))
    assert result.returncode == 125
    assert result.stderr.splitlines() == [
        "dockpy: error: standard input holds an archive, not a Dockerfile: dockpy takes no build context archive",
        "hint: Unpack it and give its directory as CONTEXT.",
    ]


def test_standard_input_cannot_be_both_the_context_and_the_dockerfile(dockpy, storage_root):
    result = dockpy("build", "-f", "-", "-", input=b"FROM busybox\n")
    assert result.returncode == 125
    assert result.stderr.splitlines()[0] == (
        "dockpy: error: standard input cannot be both the build context and the Dockerfile")


def test_a_bad_tag_fails_before_anything_is_built_or_stored(dockpy, build_root, context):
    before = store_listing(build_root.path)
    result = dockpy("build", "-t", "Bad:Tag", str(context))
    assert result.returncode == 125
    assert result.stderr.splitlines() == ["dockpy: error: invalid reference format 'Bad:Tag': repository name must be lowercase"]
    assert store_listing(build_root.path) == before


def test_an_iidfile_that_cannot_be_written_is_one_error_line(dockpy, build_root, context, tmp_path):
    result = dockpy("build", "-q", "--iidfile", str(tmp_path / "missing" / "iid"), str(context))
    assert result.returncode == 125
    assert result.stderr.splitlines() == [f"dockpy: error: write --iidfile {tmp_path / 'missing' / 'iid'}: No such file or directory"]


def test_platform_may_name_the_hosts_platform_only(dockpy, build_root, context):
    """``docker buildx build --platform linux/amd64`` in CI scripts: fine on that host, refused elsewhere."""
    from dockpy.build.variables import platform_args
    from dockpy.image.oci import Platform

    host = platform_args(Platform.host())["TARGETPLATFORM"]
    assert dockpy("build", "-q", "--platform", host, str(context)).returncode == 0
    refused = dockpy("build", "-q", "--platform", "linux/s390x", str(context))
    assert refused.returncode == 125
    assert refused.stderr.splitlines() == [
        f"dockpy: error: --platform linux/s390x is not supported: dockpy builds for {host} only"]
