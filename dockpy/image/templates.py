"""Base images made offline, in the spirit of ``lxc-create -t``.

``FROM busybox`` and ``FROM debian:<suite>`` must work on a machine with no
container registry. A template builds a root filesystem from what the host's
package manager provides; the image store imports it once and caches it as an
ordinary tagged image.

- ``busybox``: Debian's static busybox with one symlink per applet, at the
  paths ``busybox --list-full`` names, plus the /etc files a shell and
  ``USER nobody`` expect (Docker's busybox image has the same users).
- ``debian:<suite>``: ``debootstrap --variant=minbase`` from the mirror apt
  already uses, so it works wherever ``apt-get install`` does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from dockpy.errors import DockpyError, InvalidInputError

BUSYBOX_BINARY = Path("/bin/busybox")
DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"

# Docker's busybox image carries these accounts; Dockerfiles say USER nobody or www-data.
BUSYBOX_PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
BUSYBOX_GROUP = """\
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
operator:x:37:
staff:x:50:
users:x:100:
nogroup:x:65533:
nobody:x:65534:
"""
BUSYBOX_DIRECTORIES = {
    "bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755, "proc": 0o555, "root": 0o700,
    "sys": 0o555, "tmp": 0o1777, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755,
    "sbin": 0o755, "var": 0o755, "var/www": 0o755, "var/spool": 0o755, "var/spool/mail": 0o755,
}
_SUITE_PATTERN = re.compile(r"[a-z][a-z0-9-]*")


class TemplateUnavailableError(DockpyError):
    """The host lacks what a template needs (a package, network to the mirror)."""


def template_names() -> list[str]:
    """The base image names a template can make."""
    return ["busybox", "debian:<suite>"]


def build_busybox_rootfs(target: Path) -> None:
    """Fill the empty directory ``target`` with a busybox root filesystem."""
    if not BUSYBOX_BINARY.exists():
        raise _busybox_missing()
    for relative, mode in BUSYBOX_DIRECTORIES.items():
        directory = target / relative
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(mode)
    shutil.copy2(BUSYBOX_BINARY, target / "bin/busybox")
    for applet_path in _busybox_applet_paths():
        link = target / applet_path
        if link.name == "busybox" or link.exists() or link.is_symlink():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to("/bin/busybox")
    (target / "etc/passwd").write_text(BUSYBOX_PASSWD)
    (target / "etc/group").write_text(BUSYBOX_GROUP)
    (target / "etc/shadow").write_text("".join(f"{line.split(':')[0]}:*:::::::\n" for line in BUSYBOX_PASSWD.splitlines()))
    (target / "etc/shadow").chmod(0o640)


def busybox_release_time() -> int:
    """When the host's busybox binary was built (dpkg keeps a packaged file's mtime): the busybox image's date."""
    try:
        return int(BUSYBOX_BINARY.stat().st_mtime)
    except FileNotFoundError:
        raise _busybox_missing() from None


def _busybox_missing() -> TemplateUnavailableError:
    return TemplateUnavailableError(f"the busybox template needs {BUSYBOX_BINARY}", hint="apt-get install busybox-static")


def is_debian_suite(tag: str) -> bool:
    """Whether a ``debian:`` tag is a suite name for debootstrap (``bookworm``, ``stable``), not a version
    (``12``, ``10.13``) or ``latest``: those are Docker Hub's, to be pulled."""
    return tag != "latest" and _SUITE_PATTERN.fullmatch(tag) is not None


def build_debian_rootfs(target: Path, suite: str, mirror: str = DEFAULT_DEBIAN_MIRROR) -> None:
    """Fill ``target`` with ``debootstrap --variant=minbase SUITE`` (needs the Debian mirror)."""
    if not is_debian_suite(suite):
        raise InvalidInputError(f"invalid Debian suite {suite!r}")
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise TemplateUnavailableError("the debian template needs debootstrap", hint="apt-get install debootstrap")
    command = [debootstrap, "--variant=minbase", suite, str(target), mirror]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    if result.returncode != 0:
        last_lines = "; ".join(result.stderr.strip().splitlines()[-3:] or result.stdout.strip().splitlines()[-3:])
        raise TemplateUnavailableError(f"debootstrap {suite} failed (exit {result.returncode}): {last_lines}")
    # Logs and caches of the bootstrap itself are not part of an image.
    shutil.rmtree(target / "var/cache/apt/archives", ignore_errors=True)
    (target / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)


def _busybox_applet_paths() -> list[str]:
    result = subprocess.run([str(BUSYBOX_BINARY), "--list-full"], capture_output=True, text=True, check=True)
    return sorted(line.strip() for line in result.stdout.splitlines() if line.strip())
