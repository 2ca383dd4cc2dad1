"""zstandard's C backend, loaded without the package's ``__init__``.

``import zstandard`` runs the package's ``__init__``, which imports
``platform`` and ``typing`` only to choose between its C and CFFI backends:
5-10 ms on this VM, spent by ``dockpy commit`` before its layer can start
(``docs/performance.md``). On CPython the package always re-exports its C
extension (``zstandard.backend_c``), which holds everything dockpy uses
(the compressor and decompressor, ``FLUSH_FRAME``, ``ZstdError``); the
package has no switch to skip the rest (``PYTHON_ZSTANDARD_IMPORT_POLICY``
is read after ``platform`` is imported). So this loads that extension
module by itself, under its own name in ``sys.modules``: a later
``import zstandard`` finds it there and re-exports the very same module,
so classes and exceptions are the same objects either way. Where the
package has no such extension (another layout, a CFFI-only install), it is
imported as usual.
"""

from __future__ import annotations

import sys
import threading

_BACKEND = "zstandard.backend_c"
_loading = threading.Lock()  # two threads must not load two copies (their ZstdError would differ)


def zstandard():
    """The module with zstandard's API: its C backend (loaded now unless it is already), or the package without one.

    The backend is looked for first: it is complete once it is in ``sys.modules``, the package only
    once its ``__init__`` has run to the end.
    """
    with _loading:
        module = sys.modules.get(_BACKEND) or sys.modules.get("zstandard")
        if module is None:
            module = _load_backend()
    return module


def _load_backend():
    from importlib.machinery import ExtensionFileLoader, PathFinder

    package = PathFinder.find_spec("zstandard")
    locations = package.submodule_search_locations if package is not None else None
    spec = PathFinder.find_spec(_BACKEND, locations) if locations else None
    if spec is None or not isinstance(spec.loader, ExtensionFileLoader):
        import zstandard

        return zstandard
    module = spec.loader.create_module(spec)
    spec.loader.exec_module(module)
    sys.modules[_BACKEND] = module
    return module
