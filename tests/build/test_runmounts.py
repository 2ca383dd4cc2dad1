import pytest

from dockpy.build.instructions import Source
from dockpy.build.runmounts import parse_mount
from dockpy.errors import DockerfileError

SOURCE = Source("Dockerfile", 4, 4, "RUN --mount=... true")


def test_bind_is_the_default_type_and_read_only():
    mount = parse_mount("target=/src,source=app", SOURCE)
    assert (mount.type, mount.target, mount.source, mount.read_only) == ("bind", "/src", "app", True)


def test_aliases_and_flags_without_values():
    mount = parse_mount("type=bind,src=a,dst=/a,rw", SOURCE)
    assert (mount.source, mount.target, mount.read_only) == ("a", "/a", False)


def test_a_cache_mount_is_writable_with_its_target_as_default_id():
    mount = parse_mount("type=cache,target=/root/.cache,sharing=locked,mode=0700,uid=1", SOURCE)
    assert (mount.id, mount.read_only, mount.sharing, mount.mode, mount.uid) == ("/root/.cache", False, "locked",
                                                                                 0o700, 1)


def test_a_secret_goes_to_run_secrets_by_default():
    mount = parse_mount("type=secret,id=token,required", SOURCE)
    assert (mount.target, mount.id, mount.required, mount.mode) == ("/run/secrets/token", "token", True, 0o400)
    assert parse_mount("type=secret,target=/etc/key", SOURCE).id == "key"


def test_tmpfs_size_units():
    assert parse_mount("type=tmpfs,target=/t,size=64m", SOURCE).size == 64 << 20


@pytest.mark.parametrize(("spec", "message"), [
    ("type=nfs,target=/x", "unsupported mount type 'nfs'"),
    ("type=tmpfs,target=/x,from=stage", "unexpected key 'from'"),
    ("type=bind,source=a", "needs a target"),
    ("type=cache,target=/c,sharing=sometimes", "invalid --mount sharing"),
    ("type=cache,target=/c,uid=root", "want a number"),
])
def test_invalid_mounts_name_the_run_line(spec, message):
    with pytest.raises(DockerfileError, match=f"Dockerfile:4: .*{message}"):
        parse_mount(spec, SOURCE)
