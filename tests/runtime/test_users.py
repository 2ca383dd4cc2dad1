"""Resolving -u against the image's own /etc/passwd and /etc/group (runc's rules)."""

import pytest

from dockpy.errors import InvalidInputError
from dockpy.runtime.users import ExecUser, resolve_user

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n# comment\nbroken line\n"
GROUP = "root:x:0:\nwheel:x:10:root\nstaff:x:50:app,other\napp:x:1000:\n"


@pytest.fixture
def root(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(PASSWD)
    (tmp_path / "etc/group").write_text(GROUP)
    return str(tmp_path)


def test_no_user_means_root_with_its_home_and_groups(root):
    assert resolve_user("", root) == ExecUser(0, 0, (10,), "/root")


def test_a_name_resolves_to_its_ids_home_and_supplementary_groups(root):
    assert resolve_user("app", root) == ExecUser(1000, 1000, (50,), "/home/app")


def test_added_groups_join_the_supplementary_ones_by_name_or_number(root):
    assert resolve_user("app", root, ("wheel", "4242", "staff")) == ExecUser(1000, 1000, (50, 10, 4242), "/home/app")


def test_added_groups_count_even_with_an_explicit_group(root):
    assert resolve_user("app:wheel", root, ("staff",)).supplementary_gids == (50,)


def test_an_added_group_name_missing_from_the_image_is_refused(root):
    with pytest.raises(InvalidInputError, match="unable to find group nobody"):
        resolve_user("", root, ("nobody",))


def test_a_known_uid_resolves_like_its_name(root):
    assert resolve_user("1000", root) == resolve_user("app", root)


def test_an_unknown_uid_gets_group_0_and_home_slash(root):
    assert resolve_user("4242", root) == ExecUser(4242, 0, (), "/")


def test_an_explicit_group_replaces_primary_and_supplementary_groups(root):
    assert resolve_user("app:wheel", root) == ExecUser(1000, 10, (), "/home/app")


def test_a_numeric_group_need_not_exist(root):
    assert resolve_user("app:777", root).gid == 777


def test_an_unknown_user_name_is_an_error(root):
    with pytest.raises(InvalidInputError, match="unable to find user ghost"):
        resolve_user("ghost", root)


def test_an_unknown_group_name_is_an_error(root):
    with pytest.raises(InvalidInputError, match="unable to find group ghosts"):
        resolve_user("app:ghosts", root)


def test_an_image_without_passwd_runs_numeric_users(tmp_path):
    assert resolve_user("", str(tmp_path)) == ExecUser(0, 0, (), "/")
