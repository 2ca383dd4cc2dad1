"""Finding heredoc names on an instruction line (BuildKit's heredoc tables)."""

import pytest

from dockpy.dockerfile.heredoc import HeredocMarker, find_heredoc_markers


@pytest.mark.parametrize(
    ("line", "name", "expand"),
    [
        ("RUN <<EOF", "EOF", True),
        ("RUN <<'EOF'", "EOF", False),
        ('RUN <<"EOF"', "EOF", False),
        ("RUN <<eo'f'", "eof", False),
        ("RUN <<eo\\'f", "eo'f", True),
        ("RUN <<'e'o\\'f", "eo'f", False),
        ("RUN <<'one two'", "one two", False),
        ("RUN <<$EOF", "$EOF", True),
        ("RUN <<  EOF", "EOF", True),
        ("RUN << -EOF", "-EOF", True),
        ("RUN <<COMPLEX python3", "COMPLEX", True),
    ],
)
def test_heredoc_name_and_expansion(line, name, expand):
    [marker] = find_heredoc_markers(line)
    assert (marker.name, marker.expand) == (name, expand)


def test_chomp_and_file_descriptor_are_read():
    assert find_heredoc_markers("RUN 3<<-EOF") == [HeredocMarker(name="EOF", expand=True, chomp=True, fd=3)]


def test_several_heredocs_come_in_order():
    assert [m.name for m in find_heredoc_markers("COPY <<a 4<<b /dest")] == ["a", "b"]


@pytest.mark.parametrize(
    "line",
    ['RUN "<<EOF"', "RUN '<<EOF'", "RUN <<", "RUN <<<EOF", "RUN <EOF", "RUN <<- EOF", 'RUN <<"EOF', "RUN ${x <<EOF"],
)
def test_not_a_heredoc(line):
    assert find_heredoc_markers(line) == []
