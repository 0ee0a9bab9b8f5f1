"""imagex_dedup: near-duplicate image detection and merging for Django.

The registration helpers (``register``, ``unregister``, ``is_registered``,
``get_registered_models``) are loaded lazily so importing the package needs no Django settings;
``__version__`` too, so the command line starts without ``importlib.metadata``.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import Any

_REGISTRY_NAMES = frozenset({"register", "unregister", "is_registered", "get_registered_models"})


@cache
def _version() -> str:
    """The installed distribution's version (``importlib.metadata`` costs start-up time, so
    it is read on first use of ``__version__``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("imagex-dedup")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return _version()
    if name in _REGISTRY_NAMES:
        return getattr(import_module("imagex_dedup.registry"), name)
    raise AttributeError(f"module 'imagex_dedup' has no attribute {name!r}")
