"""The per-run ``/dockpy/spec`` file: the ContainerSpec told to the guest's /init as shell variables.

The guest has only busybox ``sh``, so the spec is a shell file that /init
sources: plain variables, every value quoted with ``shlex.quote`` (POSIX
single quotes, so no value is ever expanded), and the process's environment
and arguments left in ``"$@"`` as ``ENV... ARGS...`` with ``env_count`` saying
where the environment ends (sh has no arrays). It travels as a second cpio
archive appended to the cached initramfs, which the kernel unpacks on top,
with the container's ``/etc/hostname`` and ``/etc/hosts`` in the guest's init
layer (``/dockpy/init-layer``): the kernel unpacks a file far faster than
/init's shell writes one under TCG.
"""

from __future__ import annotations

import io
import os
import shlex

from dockpy.errors import InvalidInputError
from dockpy.runtime.initlayer import hosts_file
from dockpy.runtime.kvm.cpio import CpioWriter
from dockpy.runtime.spec import ContainerSpec

SPEC_PATH = "dockpy/spec"
# The overlay's top lower layer in the guest (see guest_init.sh's plan_layers); its directories come with the initramfs.
INIT_LAYER_ETC = "dockpy/init-layer/etc"


def writable_dir_names(spec: ContainerSpec) -> tuple[str, str] | None:
    """Names of the upper and work dirs inside the shared writable dir, or None for ``--read-only``.

    The guest's overlay renames from work to upper, so both must be in the one
    directory tree that virtiofs shares: their common parent.
    """
    if spec.rootfs.read_only:
        return None
    upper, work = spec.rootfs.upperdir, spec.rootfs.workdir
    if os.path.dirname(upper) != os.path.dirname(work):
        raise InvalidInputError(f"kvm isolation needs the upper dir {upper} and work dir {work} in one directory")
    names = os.path.basename(upper), os.path.basename(work)
    if any(character.isspace() or character in ",:" for character in "".join(names)):
        # The guest mounts them through fstab lines and overlay options, where these characters separate fields.
        raise InvalidInputError(f"kvm isolation cannot use upper or work dir names with spaces, commas or colons: {names}")
    return names


# How ``layers`` names a layer that comes as an EROFS disk (the next one, by serial).
DISK_LAYER = "disk"


def render_spec(spec: ContainerSpec, layers: tuple[str, ...]) -> str:
    """The shell text of /dockpy/spec; ``layers``, top first: each the guest path of an unpacked
    archive (``layer_archive.guest_path``) or ``DISK_LAYER``."""
    process = spec.process
    environment = [entry for entry in process.env if "=" in entry]  # env(1) would run a bare NAME
    names = writable_dir_names(spec) or ("", "")
    values = {
        "hostname": spec.hostname,
        "layers": " ".join(layers),
        "upper": names[0],
        "work": names[1],
        "workdir": process.cwd or "/",
        "user": process.user,
        "terminal": int(process.terminal),
        "interactive": int(process.interactive),
        "volumes": len(spec.volumes),
        "env_count": len(environment),
        "search_path": _search_path(environment),
    }
    for index, volume in enumerate(spec.volumes):
        values[f"volume_{index}_target"] = volume.destination
        values[f"volume_{index}_read_only"] = int(volume.read_only)
    lines = ["# Written by dockpy for one run; sourced by /init."]
    lines += [f"{name}={shlex.quote(str(value))}" for name, value in values.items()]
    lines.append("set -- " + " ".join(shlex.quote(word) for word in (*environment, *process.args)))
    return "\n".join(lines) + "\n"


def _search_path(environment: list[str]) -> str:
    """Where /init looks for the command: the process's PATH, or execvp(3)'s default as in the namespace mode."""
    for entry in reversed(environment):  # env(1) keeps the last of repeated names
        name, _, value = entry.partition("=")
        if name == "PATH":
            return value
    return os.defpath


def spec_archive(spec: ContainerSpec, layers: tuple[str, ...]) -> bytes:
    """A cpio archive of /dockpy/spec and the init layer's /etc files, to append to the initramfs."""
    buffer = io.BytesIO()
    writer = CpioWriter(buffer)
    writer.add_file(SPEC_PATH, render_spec(spec, layers).encode())
    writer.add_file(f"{INIT_LAYER_ETC}/hostname", f"{spec.hostname}\n".encode())
    writer.add_file(f"{INIT_LAYER_ETC}/hosts", hosts_file(spec.hostname, spec.network).encode())
    writer.finish()
    return buffer.getvalue()
