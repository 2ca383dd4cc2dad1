"""``--tmpfs DESTINATION[:OPTIONS]``: Docker's syntax, default options and merging (moby's MergeTmpfsOptions).

Every tmpfs starts from Docker's ``rw,noexec,nosuid,nodev``; the user's
options come after them, and for each flag (``exec`` against ``noexec``...)
and each data key (``size``, ``mode``...) the last one given wins. So
``--tmpfs /run:exec,size=64m`` mounts ``rw,exec,nosuid,nodev`` with ``size=64m``.
"""

from __future__ import annotations

from dockpy import linux
from dockpy.errors import InvalidInputError
from dockpy.runtime.spec import TmpfsMount

DEFAULT_OPTIONS = ("rw", "noexec", "nosuid", "nodev")
# mount(8) flag words: the flag bit each sets (True) or clears (False).
FLAG_OPTIONS = {
    "ro": (linux.MS_RDONLY, True), "rw": (linux.MS_RDONLY, False),
    "nosuid": (linux.MS_NOSUID, True), "suid": (linux.MS_NOSUID, False),
    "nodev": (linux.MS_NODEV, True), "dev": (linux.MS_NODEV, False),
    "noexec": (linux.MS_NOEXEC, True), "exec": (linux.MS_NOEXEC, False),
    "sync": (linux.MS_SYNCHRONOUS, True), "async": (linux.MS_SYNCHRONOUS, False),
    "dirsync": (linux.MS_DIRSYNC, True),
    "noatime": (linux.MS_NOATIME, True), "atime": (linux.MS_NOATIME, False),
    "nodiratime": (linux.MS_NODIRATIME, True), "diratime": (linux.MS_NODIRATIME, False),
    "relatime": (linux.MS_RELATIME, True), "norelatime": (linux.MS_RELATIME, False),
    "strictatime": (linux.MS_STRICTATIME, True), "nostrictatime": (linux.MS_STRICTATIME, False),
}
# tmpfs's own options, passed to the kernel as data.
DATA_OPTIONS = ("size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol")


def parse_tmpfs(text: str) -> TmpfsMount:
    """``/run:size=64m,exec`` -> the mount, options merged over Docker's defaults."""
    destination, _, options = text.partition(":")
    if not destination.startswith("/"):
        raise InvalidInputError(
            f"invalid mount config for type \"tmpfs\": invalid mount path: '{destination}' mount path must be absolute")
    if destination.rstrip("/") == "":
        raise InvalidInputError("invalid --tmpfs /: the root filesystem cannot be a tmpfs")
    if _is_in_proc(destination):
        raise InvalidInputError(f"invalid --tmpfs {destination}: it cannot be mounted because it is inside /proc")
    return TmpfsMount(destination, merge_options(DEFAULT_OPTIONS + tuple(filter(None, options.split(",")))))


def merge_options(options: tuple[str, ...]) -> tuple[str, ...]:
    """The options with, per flag bit and per data key, only the last one given; in their order."""
    seen: set = set()
    merged: list[str] = []
    for option in reversed(options):
        if option == "defaults":
            continue
        key = _collision_key(option)
        if key not in seen:
            seen.add(key)
            merged.insert(0, option)
    return tuple(merged)


def mount_flags_and_data(options: tuple[str, ...]) -> tuple[int, str]:
    """mount(2)'s flags and data string for merged ``options``."""
    flags = 0
    data = []
    for option in options:
        if option in FLAG_OPTIONS:
            bit, sets = FLAG_OPTIONS[option]
            flags = flags | bit if sets else flags & ~bit
        else:
            data.append(option)
    return flags, ",".join(data)


def _is_in_proc(destination: str) -> bool:
    """runc's rule: nothing is mounted over /proc or below it (the runtime itself reads /proc/sys there)."""
    import posixpath

    return (posixpath.normpath("/" + destination.lstrip("/")) + "/").startswith("/proc/")  # "//x" stays "//x"


def _collision_key(option: str):
    if option in FLAG_OPTIONS:
        return FLAG_OPTIONS[option][0]
    name, has_value, _ = option.partition("=")
    if not has_value or name not in DATA_OPTIONS:
        raise InvalidInputError(f"invalid tmpfs option {option!r}",
                                hint=f"Use mount flags (ro, exec, ...) or {', '.join(DATA_OPTIONS)}=VALUE.")
    return name
