"""``dockpy parse``: output formats, input selection, and the error contract."""

import json


def test_parse_prints_the_moby_dump_of_the_dockerfile_in_path(dockpy, tmp_path):
    (tmp_path / "Dockerfile").write_text('FROM scratch\nCOPY --chown=1:1 a /b\nCMD ["x"]\n')
    result = dockpy("parse", str(tmp_path))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == '(from "scratch")\n(copy ["--chown=1:1"] "a" "/b")\n(cmd "x")\n'


def test_parse_format_json_prints_one_object_per_instruction(dockpy, tmp_path):
    path = tmp_path / "app.Dockerfile"
    path.write_text("FROM scratch\nRUN <<EOF\necho hi\nEOF\n")
    result = dockpy("parse", "-f", str(path), "--format", "json")
    assert result.returncode == 0
    objects = json.loads(result.stdout)
    assert [o["instruction"] for o in objects] == ["FROM", "RUN"]
    assert objects[1]["heredocs"] == [{"name": "EOF", "content": "echo hi\n", "expand": True, "chomp": False}]


def test_parse_reads_standard_input_with_dash(dockpy):
    result = dockpy("parse", "-f", "-", input=b"FROM scratch\nUSER nobody\n")
    assert result.stdout == '(from "scratch")\n(user "nobody")\n'


def test_a_syntax_error_is_one_located_line_with_the_source_and_exit_125(dockpy, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\nENV PATH\n")
    result = dockpy("parse", str(tmp_path / "Dockerfile"))
    assert result.returncode == 125
    lines = result.stderr.splitlines()
    assert lines[0] == f"dockpy: error: {tmp_path / 'Dockerfile'}:2:5: ENV must have two arguments"
    assert lines[1:] == ["    ENV PATH", "        ^"]
    assert result.stdout == ""


def test_a_missing_dockerfile_is_an_error_with_a_hint(dockpy, tmp_path):
    result = dockpy("parse", str(tmp_path))
    assert result.returncode == 125
    assert result.stderr.startswith(f"dockpy: error: {tmp_path / 'Dockerfile'}: no such file\nhint: ")
    assert "Traceback" not in result.stderr


def test_empty_continuation_lines_are_warned_about_on_stderr(dockpy):
    result = dockpy("parse", "-f", "-", input=b"FROM scratch\nRUN a \\\n\n  b\n")
    assert result.returncode == 0
    assert result.stderr == "dockpy: warning: <stdin>:2: empty continuation line in RUN\n"
