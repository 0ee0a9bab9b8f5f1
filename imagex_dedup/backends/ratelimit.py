"""A :class:`~imagex_dedup.volc.ratelimit.RateLimiter` shared by every process through the cache.

veImageX limits each access key to a number of requests per second (10 in older docs, 5 in
newer ones). Each wall-clock second has ``rate`` numbered slots per access key in the Django
cache; a caller is admitted when it creates one of them with ``cache.add`` (create-if-absent),
and sleeps into the next second when all are taken. Every worker on every machine sharing the
cache therefore shares the limit.

Only ``add`` of a fresh key has to be atomic across processes, which holds for Redis (SET NX),
Memcached and the database cache (a unique-key INSERT). ``incr`` is not used on purpose: the
database cache implements it as a read followed by a write. Django's file-based cache has no
atomic operation at all (``add`` checks for the file, then writes it), and a local-memory cache
is per process: with those the limit is approximate, and a system check says so.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches

KEY_PREFIX = "imagex_dedup:ratelimit"
# Slots outlive their second a little, so a caller with a slow clock read still sees them taken.
WINDOW_TTL = 3
# Callers woken for the next second start spread over this many seconds, so processes that all
# waited do not hit the cache (and the service) at the same instant.
WAKE_JITTER = 0.02
# Cache backends whose ``add`` is atomic across processes and machines.
ATOMIC_ADD_BACKENDS = frozenset(
    {
        "django.core.cache.backends.redis.RedisCache",
        "django.core.cache.backends.memcached.PyMemcacheCache",
        "django.core.cache.backends.memcached.PyLibMCCache",
        "django.core.cache.backends.db.DatabaseCache",
    }
)


def cache_is_shared(cache_alias: str) -> bool:
    """Whether the limit holds across processes on this cache alias.

    Third-party backends are given the benefit of the doubt; a missing alias is not shared.
    """
    if cache_alias not in settings.CACHES:
        return False
    backend = settings.CACHES[cache_alias].get("BACKEND", "")
    return backend in ATOMIC_ADD_BACKENDS or not backend.startswith("django.core.cache.backends.")


class CacheRateLimiter:
    """At most ``rate`` acquisitions per wall-clock second and key, across processes."""

    def __init__(
        self,
        rate: int,
        *,
        cache_alias: str = "default",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate < 1:
            raise ValueError("rate must be at least 1 request per second")
        self.rate = int(rate)
        self.cache_alias = cache_alias
        self._clock = clock
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"CacheRateLimiter(rate={self.rate}, cache_alias={self.cache_alias!r})"

    @staticmethod
    def _key_id(key: str) -> str:
        """Access key ids stay out of cache keys (and stay short enough for Memcached)."""
        return hashlib.sha256(key.encode()).hexdigest()[:24]

    def acquire(self, key: str) -> None:
        cache = caches[self.cache_alias]
        key_id = self._key_id(key)
        while True:
            now = self._clock()
            second = int(now)
            for slot in range(self.rate):
                if cache.add(f"{KEY_PREFIX}:{key_id}:{second}:{slot}", 1, timeout=WINDOW_TTL):
                    return
            self._sleep(second + 1 - now + random.uniform(0, WAKE_JITTER))
