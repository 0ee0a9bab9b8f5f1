"""imagex_dedup: near-duplicate image detection and merging for Django.

The registration helpers (``register``, ``unregister``, ``is_registered``,
``get_registered_models``) are loaded lazily so importing the package needs no Django settings.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("imagex-dedup")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

_REGISTRY_NAMES = frozenset({"register", "unregister", "is_registered", "get_registered_models"})


def __getattr__(name: str) -> Any:
    if name in _REGISTRY_NAMES:
        return getattr(import_module("imagex_dedup.hook.registry"), name)
    raise AttributeError(f"module 'imagex_dedup' has no attribute {name!r}")
