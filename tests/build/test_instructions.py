import pytest

from dockpy.build.instructions import (
    INSTRUCTION_PARSERS,
    CopyLike,
    From,
    Healthcheck,
    KeyValues,
    OnBuild,
    ShellOrExec,
    Words,
)
from dockpy.dockerfile.ast import INSTRUCTIONS
from dockpy.errors import DockerfileError
from tests.build.conftest import command


def test_every_instruction_the_parser_knows_has_exactly_one_parse_function():
    assert set(INSTRUCTION_PARSERS) == set(INSTRUCTIONS)


def test_an_unknown_instruction_fails_with_its_line():
    with pytest.raises(DockerfileError, match=r"^Dockerfile:1: unknown instruction: RUNN"):
        command("RUNN echo")


def test_a_flag_an_instruction_does_not_take_fails_with_its_line():
    with pytest.raises(DockerfileError, match=r"Dockerfile:1: unknown flag: --from"):
        command("ADD --from=x a b")


def test_from_takes_an_image_a_lowercased_stage_name_and_a_platform():
    parsed = command("FROM --platform=linux/amd64 busybox AS Build")
    assert parsed == From(parsed.source, "busybox", "build", "linux/amd64")


def test_from_with_two_words_is_refused():
    with pytest.raises(DockerfileError, match="FROM requires either one or three arguments"):
        command("FROM a b")


def test_copy_flags_become_fields():
    parsed = command("COPY --from=build --chown=1:2 --chmod=640 --link --parents --exclude=*.o a b /dst/")
    assert isinstance(parsed, CopyLike)
    assert (parsed.sources, parsed.destination) == (("a", "b"), "/dst/")
    assert (parsed.from_, parsed.chown, parsed.chmod) == ("build", "1:2", "640")
    assert parsed.link and parsed.parents and parsed.excludes == ("*.o",)


def test_copy_with_one_argument_is_refused():
    with pytest.raises(DockerfileError, match="COPY requires at least two arguments"):
        command("COPY onlyone")


def test_add_accepts_checksum_but_copy_does_not():
    assert command("ADD --checksum=sha256:ab http://x/y /y").checksum == "sha256:ab"
    with pytest.raises(DockerfileError, match="unknown flag: --checksum"):
        command("COPY --checksum=sha256:ab a /y")


def test_an_invalid_chmod_is_refused_before_the_build():
    with pytest.raises(DockerfileError, match="invalid --chmod=rwx"):
        command("COPY --chmod=rwx a /b")


def test_run_shell_and_exec_forms():
    shell = command("RUN echo hi")
    exec_form = command('RUN ["echo", "hi"]')
    assert (shell.args, shell.shell_form) == (("echo hi",), True)
    assert (exec_form.args, exec_form.shell_form) == (("echo", "hi"), False)


def test_run_mounts_and_network_are_kept_for_the_step():
    parsed = command("RUN --mount=type=cache,target=/c --network=none make")
    assert isinstance(parsed, ShellOrExec)
    assert (parsed.mounts, parsed.network) == (("type=cache,target=/c",), "none")


def test_run_with_an_unknown_network_is_refused():
    with pytest.raises(DockerfileError, match="unsupported network mode"):
        command("RUN --network=bridge true")


def test_env_and_label_keep_pairs_in_order():
    parsed = command('ENV A=1 B="two words"')
    assert isinstance(parsed, KeyValues)
    assert parsed.pairs == (("A", "1"), ("B", '"two words"'))
    assert command("ENV legacy value with spaces").pairs == (("legacy", "value with spaces"),)


def test_healthcheck_options_are_parsed_to_nanoseconds():
    parsed = command("HEALTHCHECK --interval=30s --retries=3 CMD wget -q localhost")
    assert isinstance(parsed, Healthcheck)
    assert parsed.test == ("CMD-SHELL", "wget -q localhost")
    assert (parsed.interval, parsed.retries) == (30_000_000_000, 3)


def test_healthcheck_none_and_an_unknown_type():
    assert command("HEALTHCHECK NONE").test == ("NONE",)
    with pytest.raises(DockerfileError, match='Unknown type "FOO" in HEALTHCHECK'):
        command("HEALTHCHECK FOO x")


def test_healthcheck_interval_below_a_millisecond_is_refused():
    with pytest.raises(DockerfileError, match="cannot be less than 1ms"):
        command("HEALTHCHECK --interval=10us CMD true")


def test_shell_requires_json_form():
    with pytest.raises(DockerfileError, match="SHELL requires the arguments to be in JSON form"):
        command("SHELL /bin/bash -c")


def test_user_and_workdir_take_exactly_one_argument():
    assert command("USER nobody") == Words(command("USER nobody").source, "USER", ("nobody",))
    with pytest.raises(DockerfileError, match="EXPOSE requires at least one argument"):
        command("EXPOSE")


def test_onbuild_keeps_its_trigger_text():
    parsed = command("ONBUILD RUN echo hi")
    assert isinstance(parsed, OnBuild) and parsed.trigger == "RUN echo hi"


@pytest.mark.parametrize(("line", "message"), [
    ("ONBUILD ONBUILD RUN x", "Chaining ONBUILD"),
    ("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger"),
    ("ONBUILD COPY --bogus=1 a b", "unknown flag: --bogus"),
])
def test_invalid_onbuild_triggers_fail_at_once(line, message):
    with pytest.raises(DockerfileError, match=message):
        command(line)
