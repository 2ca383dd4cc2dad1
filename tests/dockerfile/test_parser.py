"""parse_dockerfile and load_dockerfile: the AST the builder gets, and the errors users see."""

import pytest

import dockpy
from dockpy.dockerfile import Heredoc, Instruction, load_dockerfile, parse_dockerfile
from dockpy.errors import DockerfileError, NotFoundError


def only_instruction(text):
    return parse_dockerfile(text).instructions[-1]


def test_instruction_carries_keyword_flags_args_form_and_lines():
    instruction = only_instruction("FROM x\nrun --mount=type=cache,target=/c \\\n  make all\n")
    assert instruction == Instruction(
        name="RUN",
        keyword="run",
        flags=("--mount=type=cache,target=/c",),
        args=("make all",),
        json_form=False,
        original="run --mount=type=cache,target=/c   make all",
        start_line=2,
        end_line=3,
    )


def test_exec_form_is_marked_json():
    instruction = only_instruction('CMD ["a", "b"]')
    assert instruction.json_form and instruction.args == ("a", "b")


def test_onbuild_holds_the_nested_instruction_and_its_original_text():
    instruction = only_instruction("ONBUILD COPY --from=b . /src")
    assert (instruction.name, instruction.args) == ("ONBUILD", ())
    assert instruction.onbuild.name == "COPY"
    assert instruction.onbuild.original == "COPY --from=b . /src"


def test_heredocs_carry_name_content_expand_chomp_and_fd():
    instruction = only_instruction("RUN 3<<-'EOF'\n\tbody\nEOF\n")
    assert instruction.heredocs == (Heredoc(name="EOF", content="\tbody\n", expand=False, chomp=True, fd=3),)
    assert instruction.end_line == 3


def test_onbuild_heredocs_are_on_both_instructions():
    instruction = only_instruction("ONBUILD RUN <<EOF\nx\nEOF\n")
    assert instruction.heredocs == instruction.onbuild.heredocs == (Heredoc(name="EOF", content="x\n"),)


def test_unknown_instruction_parses_and_is_not_known():
    instruction = only_instruction("FROBNICATE it")
    assert (instruction.name, instruction.args, instruction.is_known) == ("FROBNICATE", ("",), False)


def test_empty_continuation_lines_are_warnings_not_errors():
    dockerfile = parse_dockerfile("FROM x\nRUN a \\\n\n  b\n", filename="Containerfile")
    assert dockerfile.instructions[1].args == ("a   b",)
    assert dockerfile.warnings == ("Containerfile:2: empty continuation line in RUN",)


def test_text_and_bytes_parse_alike():
    assert parse_dockerfile("FROM é\n") == parse_dockerfile("FROM é\n".encode())


def test_errors_name_the_file_line_and_column_and_show_the_line():
    with pytest.raises(DockerfileError) as raised:
        parse_dockerfile("FROM x\n  ENV A=1 B\n", filename="app/Dockerfile")
    error = raised.value
    assert str(error) == 'app/Dockerfile:2:7: Syntax error - can\'t find = in "B". Must be of the form: name=value'
    assert (error.filename, error.line, error.column, error.snippet) == ("app/Dockerfile", 2, 7, "  ENV A=1 B")


def test_an_unterminated_heredoc_names_the_instruction_line():
    with pytest.raises(DockerfileError, match="^Dockerfile:2: unterminated heredoc 'EOF'$"):
        parse_dockerfile("FROM x\nCOPY <<EOF /a\nbody\n")


def test_load_dockerfile_names_the_path_in_errors(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("FROM x\nENV PATH\n")
    with pytest.raises(DockerfileError, match=f"^{path}:2:5: "):
        load_dockerfile(path)


def test_load_dockerfile_of_a_missing_file_is_not_found(tmp_path):
    with pytest.raises(NotFoundError):
        load_dockerfile(tmp_path / "nope")


def test_parse_dockerfile_is_the_public_api():
    assert dockpy.parse_dockerfile is parse_dockerfile
