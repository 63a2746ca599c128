"""The one way to load a C speed-up. Each extension (``capture/_scan.c``, ``decode/_fastdecode.c``,
``flows/_tcprun.c``) is optional: setup.py builds it when a compiler is there, and the module beside it
keeps a pure-Python fallback that gives the same output (the tests compare the two). A ``.pyi`` stub
beside each C file gives its types."""

from __future__ import annotations

import importlib
from types import ModuleType


def load(package: str | None, name: str) -> ModuleType | None:
    """The built extension ``package.name``, or None when it was not built (the fallback runs then).

    Imported by name because the compiled module is not in the source tree."""
    try:
        return importlib.import_module(f"{package}.{name}")
    except ImportError:
        return None
