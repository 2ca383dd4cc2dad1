"""--env-file and --label-file: Docker's KEY=VALUE line format."""

import pytest

from dockpy.errors import InvalidInputError, NotFoundError
from dockpy.runtime.keyvalue_files import read_env_files, read_key_value_file, read_label_files


def write(tmp_path, text: str, name: str = "vars") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return str(path)


def test_lines_are_taken_verbatim_without_removing_quotes(tmp_path):
    path = write(tmp_path, 'A=1\nB="two words"\nC=x=y\nD=\n')
    assert read_key_value_file(path, {}) == ["A=1", 'B="two words"', "C=x=y", "D="]


def test_comments_blank_lines_and_leading_white_space_are_skipped(tmp_path):
    path = write(tmp_path, "# a comment\n\n   \n  A=1\n\t# indented comment\n")
    assert read_key_value_file(path, {}) == ["A=1"]


def test_a_bare_name_takes_the_callers_value_or_is_left_out(tmp_path, monkeypatch):
    monkeypatch.setenv("FROM_CALLER", "yes")
    monkeypatch.delenv("NOT_SET", raising=False)
    assert read_env_files([write(tmp_path, "FROM_CALLER\nNOT_SET\n")]) == ["FROM_CALLER=yes"]


def test_a_bare_name_in_a_label_file_is_left_out(tmp_path, monkeypatch):
    monkeypatch.setenv("FROM_CALLER", "yes")
    assert read_label_files([write(tmp_path, "FROM_CALLER\nteam=ci\n")]) == ["team=ci"]


def test_windows_line_ends_and_a_byte_order_mark_are_dropped(tmp_path):
    assert read_key_value_file(write(tmp_path, "\ufeffA=1\r\nB=2\r\n"), {}) == ["A=1", "B=2"]


def test_several_files_are_read_in_order(tmp_path):
    first, second = write(tmp_path, "A=1\n", "first"), write(tmp_path, "A=2\n", "second")
    assert read_env_files([first, second]) == ["A=1", "A=2"]


def test_a_name_with_white_space_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="variable 'A B' contains whitespaces"):
        read_key_value_file(write(tmp_path, "A B=1\n"), {})


def test_a_line_without_a_name_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="no variable name on line '=1'"):
        read_key_value_file(write(tmp_path, "=1\n"), {})


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(NotFoundError, match="open .*/missing: no such file or directory"):
        read_env_files([str(tmp_path / "missing")])


def test_invalid_utf8_is_refused_with_its_line(tmp_path):
    path = tmp_path / "vars"
    path.write_bytes(b"A=1\nB=\xff\n")
    with pytest.raises(InvalidInputError, match="invalid utf8 bytes at line 2"):
        read_env_files([str(path)])
