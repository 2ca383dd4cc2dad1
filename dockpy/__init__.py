"""dockpy: build Dockerfiles into versioned OCI images and run them.

The package is imported by ``dockpy --help``, so it must stay cheap: the
public API below is resolved lazily, on first attribute access.
"""

from __future__ import annotations

__version__ = "0.1.0"

# name -> module that defines it; imported on first use (PEP 562).
_LAZY_API = {
    "parse_dockerfile": "dockpy.dockerfile",
}

__all__ = ["__version__", *_LAZY_API]


def __getattr__(name: str):
    module_name = _LAZY_API.get(name)
    if module_name is None:
        raise AttributeError(f"module 'dockpy' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
