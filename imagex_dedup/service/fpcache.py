"""A bounded in-process cache of fingerprints, keyed by the SHA-256 of the downloaded bytes.

A detection service sees the same image again and again (a client re-checking its CDN URLs,
one picture in many requests); decoding and fingerprinting it is most of a request's CPU. The
fingerprint is a pure function of the bytes, the engine's ``FINGERPRINT_VERSION`` and the load
limits, so a cached one is exactly what a new computation would give, whoever sent the bytes
(a SHA-256 collision aside). Only successes are cached: a corrupt or refused image is decoded
again every time and gives its own error each time.

One cache per process (each server worker has its own), least recently used entries evicted
beyond ``IMAGEX_DEDUP["FINGERPRINT_CACHE_SIZE"]`` entries (about 400 bytes each); 0 turns it off.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from imagex_dedup.conf import dedup_settings
from imagex_dedup.engine.fingerprint import FINGERPRINT_VERSION, Fingerprint
from imagex_dedup.engine.loading import LoadLimits

CacheKey = tuple[int, LoadLimits, bytes]


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    size: int
    max_size: int


class FingerprintCache:
    """Thread-safe LRU map from (version, limits, SHA-256 of the bytes) to a fingerprint.

    The computation runs outside the lock: two threads missing the same bytes at once both
    compute it (same result), and no thread waits for another's decode.
    """

    def __init__(self, max_size: int) -> None:
        self._entries: OrderedDict[CacheKey, Fingerprint] = OrderedDict()
        self._lock = threading.Lock()
        self.max_size = max(0, max_size)
        self.hits = 0
        self.misses = 0

    def resize(self, max_size: int) -> None:
        """Change the bound, evicting the least recently used entries beyond it."""
        with self._lock:
            self.max_size = max(0, max_size)
            self._evict()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self.hits, self.misses, len(self._entries), self.max_size)

    def get_or_compute(
        self, data: bytes, limits: LoadLimits, compute: Callable[[bytes, LoadLimits], Fingerprint]
    ) -> Fingerprint:
        """``compute(data, limits)``, or the fingerprint it gave for the same bytes before.

        Exceptions of ``compute`` propagate and nothing is stored for them.
        """
        if self.max_size == 0:
            return compute(data, limits)
        key = (FINGERPRINT_VERSION, limits, hashlib.sha256(data).digest())
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        result = compute(data, limits)
        with self._lock:
            self._entries[key] = result
            self._entries.move_to_end(key)
            self._evict()
        return result

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self) -> None:
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)


_cache = FingerprintCache(0)


def fingerprint_cache() -> FingerprintCache:
    """The process's cache, sized by the current ``FINGERPRINT_CACHE_SIZE`` setting."""
    size = max(0, dedup_settings.fingerprint_cache_size)
    if size != _cache.max_size:
        _cache.resize(size)
    return _cache
