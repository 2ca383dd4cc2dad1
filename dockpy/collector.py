"""Python's cycle collector, paused while dockpy makes objects that live as long as its process.

A command's start (its imports, its parser) and ``run``'s setup (the image,
the spec, the record) make thousands of objects that stay until the process
ends and are never cyclic garbage; the collector's passes over them cost a
command 2-5 ms. ``pause`` stops it; ``resume`` turns it back on with what
exists by then frozen (left out of every later pass), so the first pass does
not go over all of it at once. Only a pause of dockpy's own is undone: a
program that turned the collector off itself keeps it off.
"""

from __future__ import annotations

import gc

_paused_here = False


def pause() -> None:
    """Stop the cycle collector until ``resume``."""
    global _paused_here
    if gc.isenabled():
        gc.disable()
        _paused_here = True


def resume(leave_out_what_exists: bool = True) -> None:
    """Collect again if ``pause`` stopped it; without ``leave_out_what_exists``, over everything as before."""
    global _paused_here
    if _paused_here:
        _paused_here = False
        if leave_out_what_exists:
            gc.freeze()
        gc.enable()
