"""Client-side rate limiting for the veImageX API.

The client calls ``acquire(key)`` before every HTTP request, with the access key id as ``key``
(limits are per user on the server). The in-process bucket here only coordinates threads of one
process; deployments with several workers sharing credentials need a shared implementation of
:class:`RateLimiter` (for example one backed by the Django cache).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

DEFAULT_RATE = 10.0  # requests per second; older veImageX docs say 10, newer ones 5


class RateLimiter(Protocol):
    def acquire(self, key: str) -> None:
        """Block until one more request for ``key`` is allowed."""


class TokenBucketRateLimiter:
    """Thread-safe token bucket per key: ``rate`` tokens per second, at most ``burst`` banked.

    A caller reserves its token under the lock (the balance may go negative) and sleeps outside
    it, so concurrent callers queue fairly instead of polling.
    """

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated_at)

    def acquire(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            tokens, updated = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - updated) * self.rate) - 1.0
            self._buckets[key] = (tokens, now)
        if tokens < 0:
            self._sleep(-tokens / self.rate)


_default_limiter = TokenBucketRateLimiter()


def default_rate_limiter() -> TokenBucketRateLimiter:
    """The process-wide limiter clients use when given none, so clients sharing an AK share it."""
    return _default_limiter
