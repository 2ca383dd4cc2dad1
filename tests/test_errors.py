"""naming_the_archive: the file a malformed archive came from, in front of the message."""

import pytest

from dockpy.errors import NotFoundError, UnsafeArchiveError, naming_the_archive


def test_an_archive_error_is_prefixed_with_the_file_name_and_keeps_its_hint():
    with pytest.raises(UnsafeArchiveError) as raised, naming_the_archive("notes.txt"):
        raise UnsafeArchiveError("not a tar archive", hint="check the file")
    assert (str(raised.value), raised.value.hint) == ("notes.txt: not a tar archive", "check the file")


def test_without_a_name_the_message_is_unchanged():
    with pytest.raises(UnsafeArchiveError, match="^not a tar archive$"), naming_the_archive(None):
        raise UnsafeArchiveError("not a tar archive")


def test_other_errors_pass_through_unnamed():
    with pytest.raises(NotFoundError, match="^no such image: app$"), naming_the_archive("notes.txt"):
        raise NotFoundError("no such image: app")
