"""Deletions in a layer: the OCI tar form and the overlayfs form, and how to convert.

A layer must say "this path from a lower layer is gone" and "this directory
hides everything below it". The two worlds say it differently:

=================  ==========================  ===============================================
meaning            OCI layer tar               overlayfs upper / lower directory
=================  ==========================  ===============================================
``x`` deleted      empty file ``.wh.x``        character device 0/0 named ``x`` (or, since
                                               Linux 6.7, an empty file with the xattr
                                               ``trusted.overlay.whiteout``)
``d`` opaque       empty file ``d/.wh..wh..opq``  xattr ``trusted.overlay.opaque=y`` on ``d``
=================  ==========================  ===============================================

Overlays mounted with ``userxattr`` (user namespaces) use ``user.overlay.*``
instead of ``trusted.overlay.*``. Every other ``*.overlay.*`` xattr
(``redirect``, ``origin``, ``impure``, ``metacopy``, ...) is overlayfs's private
bookkeeping: it means nothing outside the mount and never goes into a layer.
"""

from __future__ import annotations

import os
import stat

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
# Names starting with ".wh..wh." are whiteout metadata; aufs kept its hard-link
# directory (".wh..wh.plnk") and state (".wh..wh.aufs") under them.
WHITEOUT_META_PREFIX = ".wh..wh."

TRUSTED_OVERLAY = "trusted.overlay."
USER_OVERLAY = "user.overlay."
OVERLAY_XATTR_PREFIXES = (TRUSTED_OVERLAY, USER_OVERLAY)
OPAQUE_XATTRS = (TRUSTED_OVERLAY + "opaque", USER_OVERLAY + "opaque")
WHITEOUT_XATTRS = (TRUSTED_OVERLAY + "whiteout", USER_OVERLAY + "whiteout")
# Xattrs that make an upper directory's content mean something else than it says:
# a renamed directory ("redirect") or a file whose data lives below ("metacopy").
REDIRECT_XATTRS = (TRUSTED_OVERLAY + "redirect", USER_OVERLAY + "redirect")
METACOPY_XATTRS = (TRUSTED_OVERLAY + "metacopy", USER_OVERLAY + "metacopy")
# The value of an opaque xattr that makes a directory opaque. ("x" marks a
# directory that merely contains xattr whiteouts, and is not opaque.)
OPAQUE_VALUE = b"y"

WHITEOUT_PREFIX_BYTES = WHITEOUT_PREFIX.encode()
OPAQUE_MARKER_BYTES = OPAQUE_MARKER.encode()
WHITEOUT_META_PREFIX_BYTES = WHITEOUT_META_PREFIX.encode()


# --- the OCI tar form -------------------------------------------------------------


def whiteout_name(name: bytes) -> bytes:
    """The tar basename that deletes ``name``: ``x`` → ``.wh.x``."""
    return WHITEOUT_PREFIX_BYTES + name


def whited_out_name(basename: bytes) -> bytes | None:
    """The name a ``.wh.<name>`` entry deletes, or None if ``basename`` is no whiteout.

    The opaque marker and other ``.wh..wh.`` metadata are not whiteouts of a name.
    """
    if not basename.startswith(WHITEOUT_PREFIX_BYTES) or basename.startswith(WHITEOUT_META_PREFIX_BYTES):
        return None
    return basename[len(WHITEOUT_PREFIX_BYTES) :]


def is_opaque_marker(basename: bytes) -> bool:
    return basename == OPAQUE_MARKER_BYTES


# --- the overlayfs form -------------------------------------------------------------


def is_overlay_whiteout(st: os.stat_result) -> bool:
    """A character device 0/0: overlayfs's classic whiteout."""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_xattr_whiteout(xattr_names) -> bool:
    """An (empty, regular) file carrying overlayfs's whiteout xattr (Linux 6.7+)."""
    return any(name in WHITEOUT_XATTRS for name in xattr_names)


def is_opaque_value(xattrs: dict[str, bytes]) -> bool:
    """Whether a directory's xattrs mark it opaque (``trusted.`` or ``user.overlay.opaque=y``)."""
    return any(xattrs.get(name) == OPAQUE_VALUE for name in OPAQUE_XATTRS)


def is_overlay_private(xattr_name: str) -> bool:
    """Overlayfs's own bookkeeping xattrs, which never go into a layer tar."""
    return xattr_name.startswith(OVERLAY_XATTR_PREFIXES)


def changes_meaning_of_upper(xattr_name: str) -> bool:
    """Redirect and metacopy xattrs: the upper entry alone does not describe the change."""
    return xattr_name in REDIRECT_XATTRS or xattr_name in METACOPY_XATTRS


def make_overlay_whiteout(dir_fd: int, name: bytes) -> None:
    """Create ``name`` in the directory ``dir_fd`` as a 0/0 character device, mode 0 (as overlayfs does)."""
    os.mknod(name, stat.S_IFCHR, os.makedev(0, 0), dir_fd=dir_fd)
    os.chmod(name, 0, dir_fd=dir_fd)


def mark_opaque(directory_fd: int, xattr_prefix: str = TRUSTED_OVERLAY) -> None:
    """Make the open directory opaque to overlayfs (``<prefix>opaque=y``).

    ``xattr_prefix`` is ``user.overlay.`` for overlays mounted with ``userxattr``.
    """
    os.setxattr(directory_fd, xattr_prefix + "opaque", OPAQUE_VALUE)
