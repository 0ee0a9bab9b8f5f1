"""imagex_dedup: near-duplicate image detection and merging for Django.

The registration helpers (``register``, ``unregister``, ``is_registered``,
``get_registered_models``) are loaded lazily so importing the package needs no Django settings;
``__version__`` too (:mod:`imagex_dedup.version`), so the command line starts without
``importlib.metadata``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["__version__", "get_registered_models", "is_registered", "register", "unregister"]

_REGISTRY_NAMES = frozenset({"register", "unregister", "is_registered", "get_registered_models"})


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return import_module("imagex_dedup.version").__version__
    if name in _REGISTRY_NAMES:
        return getattr(import_module("imagex_dedup.hook.registry"), name)
    raise AttributeError(f"module 'imagex_dedup' has no attribute {name!r}")
