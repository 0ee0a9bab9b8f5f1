"""imagex_dedup: near-duplicate image detection and merging for Django.

The registration helpers (``register``, ``unregister``, ``is_registered``,
``get_registered_models``) are loaded lazily so importing the package needs no Django settings.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from imagex_dedup.version import __version__

__all__ = ["__version__", "get_registered_models", "is_registered", "register", "unregister"]

_REGISTRY_NAMES = frozenset({"register", "unregister", "is_registered", "get_registered_models"})


def __getattr__(name: str) -> Any:
    if name in _REGISTRY_NAMES:
        return getattr(import_module("imagex_dedup.hook.registry"), name)
    raise AttributeError(f"module 'imagex_dedup' has no attribute {name!r}")
