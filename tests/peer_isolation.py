"""How the tests and benches run peer tools (skopeo, podman, buildah, Docker) without touching the host's state.

Two things those tools write outside the store they are pointed at:

- containers/image (skopeo, podman 4.3, buildah) keeps a blob-info cache in
  /var/lib/containers/cache (root) whatever the storage configuration says:
  every copy, load, save or commit would write the host's copy, and the
  first would create the directory. Behind ``with_private_var_lib`` a
  command gets a tmpfs over /var/lib in a mount namespace of its own, which
  vanishes with it; the store the command is pointed at (its --root or
  storage.conf) is elsewhere and unaffected. Benchmarks, which must not add
  a wrapper's cost to the timed commands, call ``enter_private_var_lib``
  once: the whole bench process and everything it starts then see the tmpfs.
- Engines with the cgroupfs driver create their cgroup parent (podman's
  default: ``libpod_parent``) in every hierarchy and leave it, with their
  monitors' cgroups (podman's ``conmon``) inside, after the containers are
  gone. Callers name a parent of their own (``--cgroup-parent``) and
  ``remove_cgroup_tree`` it afterwards.
"""

import glob
import os
import shutil

_PRIVATE_VAR_LIB = ["unshare", "--mount", "--propagation", "private",
                    "sh", "-c", 'mount -t tmpfs tmpfs /var/lib && exec "$0" "$@"']


def with_private_var_lib(argv: list[str]) -> list[str]:
    """``argv`` run with an empty /var/lib of its own; as it is where that needs what is missing (root, unshare).

    Without root the tools keep their cache in the caller's home, not the host's /var/lib.
    """
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return list(argv)
    return [*_PRIVATE_VAR_LIB, *argv]


_entered_private_var_lib = False


def enter_private_var_lib() -> None:
    """This process and its children from now on: a private mount namespace with a tmpfs over /var/lib (once)."""
    global _entered_private_var_lib
    from dockpy import linux

    if not _entered_private_var_lib:
        linux.unshare(linux.CLONE_NEWNS)
        linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
        linux.mount("tmpfs", "/var/lib", "tmpfs")
        _entered_private_var_lib = True


def remove_cgroup_tree(name: str) -> None:
    """rmdir ``name`` and every cgroup below it, deepest first, in every hierarchy mounted under /sys/fs/cgroup."""
    for top in glob.glob(f"/sys/fs/cgroup/{name}") + glob.glob(f"/sys/fs/cgroup/*/{name}"):
        for directory, _, _ in sorted(os.walk(top), key=lambda entry: len(entry[0]), reverse=True):
            os.rmdir(directory)
