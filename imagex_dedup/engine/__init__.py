"""The engine: plain functions for loading, fingerprinting, scoring and grouping images.

No Django here. The URL fetch stack (:mod:`.fetch`, which imports ``requests``) is loaded on
first use of one of its names, so ``python -m imagex_dedup check`` on files never imports it.
"""

from importlib import import_module
from typing import Any

from imagex_dedup.engine.errors import EngineError, FetchError, ImageLoadError, UnsafeURLError
from imagex_dedup.engine.fingerprint import (
    FINGERPRINT_VERSION,
    Fingerprint,
    fingerprint,
    fingerprint_image,
    fingerprint_many,
)
from imagex_dedup.engine.grouping import assign, group
from imagex_dedup.engine.keys import index_keys, index_keys_many, query_keys
from imagex_dedup.engine.loading import LoadedImage, LoadLimits, load_image
from imagex_dedup.engine.scoring import DEFAULT_SIMILARITY, compare, compare_many

__all__ = [
    "DEFAULT_SIMILARITY",
    "FINGERPRINT_VERSION",
    "EngineError",
    "FetchError",
    "FetchPolicy",
    "Fingerprint",
    "ImageLoadError",
    "LoadLimits",
    "LoadedImage",
    "UnsafeURLError",
    "assign",
    "check_url_safe",
    "compare",
    "compare_many",
    "create_session",
    "fetch_many",
    "fetch_url",
    "fingerprint",
    "fingerprint_image",
    "fingerprint_many",
    "group",
    "index_keys",
    "index_keys_many",
    "iter_fetch",
    "load_image",
    "query_keys",
]

_FETCH_NAMES = frozenset(
    {"FetchPolicy", "check_url_safe", "create_session", "fetch_many", "fetch_url", "iter_fetch"}
)


def __getattr__(name: str) -> Any:
    if name in _FETCH_NAMES:
        return getattr(import_module("imagex_dedup.engine.fetch"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
