"""The program's stdio as a backend's ``start`` takes it: three descriptors, or a terminal (``-t``).

Both backends take these records, so they live apart from either: the
lifecycle's owners (``monitor.py``) make them for every container, and a
``dockpy run --isolation kvm`` importing the namespace backend just for them
paid ~20 ms of imports (its cgroups, execution and privileges modules).
"""

from __future__ import annotations

from collections import namedtuple


class Terminal(namedtuple("Terminal", "fd path")):
    """A pseudo-terminal's slave end (``-t``): the program's stdio and controlling tty, and /dev/console.

    ``fd`` is the slave's descriptor in dockpy, ``path`` its /dev/pts name.
    (The records here are namedtuples, as the spec's: see ``dockpy.runtime.spec``.)
    """

    __slots__ = ()


class Stdio(namedtuple("Stdio", "stdin stdout stderr terminal", defaults=(0, 1, 2, None))):
    """Host file descriptors that become the program's stdin, stdout and stderr (unless ``terminal``, a ``Terminal``)."""

    __slots__ = ()
