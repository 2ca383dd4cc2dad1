"""The init layer and the /etc files dockpy provides (Docker's ``-init`` layer).

The init layer sits between the image and the container's upper dir. It
holds empty mount points (/proc, /sys, /dev and the three /etc files), so
mounting on them never creates anything in the upper dir: ``diff`` and
``commit`` show only what the program changed. The files' contents live in
the container's directory and are bound over the mount points, so a program
writing /etc/hosts changes dockpy's copy, not the image.

The init layer is the same for every container and overlayfs never writes
to a lower layer, so one per storage root (``<root>/init``) serves them all:
creating and removing it per container cost ``run --rm`` eight directory
operations, each of which can wait on the filesystem's journal.
"""

from __future__ import annotations

import os

from dockpy.root import INIT_LAYER, TMP, StorageRoot
from dockpy.runtime.containers import ContainerPaths
from dockpy.runtime.spec import VolumeMount

ETC_FILES = ("hosts", "hostname", "resolv.conf")
MOUNT_POINT_DIRECTORIES = ("proc", "sys", "dev", "etc")
LOCALHOST_ENTRIES = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)
HOST_RESOLV_CONF = "/etc/resolv.conf"


def make_container_directory(paths: ContainerPaths) -> None:
    """The container's directory, with its upper, work and merged dirs."""
    os.mkdir(paths.directory)
    for directory in (paths.upper, paths.work, paths.merged):
        os.mkdir(directory)


def write_etc_files(paths: ContainerPaths, hostname: str, network: str, extra_hosts: tuple = ()) -> tuple[VolumeMount, ...]:
    """The container's /etc files, in its directory; the binds that put them in place.

    ``extra_hosts`` are ``--add-host``'s ``(name, address)`` pairs, appended to /etc/hosts.
    """
    contents = {"hosts": hosts_file(hostname, network) + _extra_hosts_lines(extra_hosts), "hostname": hostname + "\n",
                "resolv.conf": resolv_conf()}
    binds = []
    for name in ETC_FILES:
        source = paths.etc_file(name)
        with open(source, "w") as file:
            file.write(contents[name])
        binds.append(VolumeMount(source, f"/etc/{name}"))
    return tuple(binds)


def _extra_hosts_lines(extra_hosts: tuple) -> str:
    if not extra_hosts:
        return ""
    from dockpy.runtime.extra_hosts import hosts_lines

    return hosts_lines(extra_hosts)


def shared_init_layer(root: StorageRoot) -> str:
    """The storage root's init layer, made on first use.

    It is built in ``tmp/`` and renamed into place, so no container ever sees
    it half made; when two processes race, the first rename wins and the
    loser's copy is dropped. The write lease keeps gc from taking the copy
    for a crash's leftover meanwhile.
    """
    layer = root.join(INIT_LAYER)
    if not os.path.isdir(layer):
        _install_init_layer(root)
    return layer


def _install_init_layer(root: StorageRoot) -> None:
    from dockpy.image.lease import write_lease
    from dockpy.image.leftovers import INIT_LAYER_STAGING_PREFIX

    staging = root.join(TMP, f"{INIT_LAYER_STAGING_PREFIX}{os.urandom(8).hex()}")
    with write_lease(root):
        make_init_layer(staging)
        try:
            os.rename(staging, root.join(INIT_LAYER))
        except OSError:  # another process installed it first
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
            if not os.path.isdir(root.join(INIT_LAYER)):
                raise


def make_init_layer(directory: str) -> None:
    """The mount points, in ``directory`` (which must not exist yet)."""
    os.makedirs(directory)
    for name in MOUNT_POINT_DIRECTORIES:
        os.mkdir(os.path.join(directory, name), 0o755)
    for name in ETC_FILES:
        os.close(os.open(os.path.join(directory, "etc", name), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))


def hosts_file(hostname: str, network: str) -> str:
    """Docker's /etc/hosts: the host's own for --network host, else localhost and the container's name."""
    if network == "host":
        with open("/etc/hosts") as host_hosts:
            return host_hosts.read()
    return LOCALHOST_ENTRIES + f"127.0.1.1\t{hostname}\n"


def resolv_conf() -> str:
    try:
        with open(HOST_RESOLV_CONF) as file:
            return file.read()
    except FileNotFoundError:
        return ""


def host_hostname() -> str:
    return os.uname().nodename
