"""--cidfile: refused when the file exists, written exclusively with the id alone."""

import pytest

from dockpy.errors import ConflictError, NotFoundError
from dockpy.runtime.cidfile import check_cidfile_free, write_cidfile


def test_an_existing_file_is_refused_in_dockers_words(tmp_path):
    path = tmp_path / "cid"
    path.write_text("old")
    with pytest.raises(ConflictError, match="container ID file found, make sure the other container isn't running"):
        check_cidfile_free(str(path))


def test_a_file_in_a_missing_directory_is_refused(tmp_path):
    with pytest.raises(NotFoundError, match="no such file or directory"):
        check_cidfile_free(str(tmp_path / "missing" / "cid"))


def test_the_id_is_written_without_a_newline(tmp_path):
    path = tmp_path / "cid"
    check_cidfile_free(str(path))
    write_cidfile(str(path), "ab" * 32)
    assert path.read_text() == "ab" * 32


def test_a_file_made_meanwhile_is_not_overwritten(tmp_path):
    path = tmp_path / "cid"
    path.write_text("other")
    with pytest.raises(ConflictError):
        write_cidfile(str(path), "ab" * 32)
    assert path.read_text() == "other"
