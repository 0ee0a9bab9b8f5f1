"""Child process for the cross-process rate limit test.

``python -m tests.backends.ratelimit_worker KEY COUNT RATE START [DB_CACHE_TABLE]`` waits until the
Unix time START, acquires COUNT times from a :class:`CacheRateLimiter` and prints, one per line,
the second the limiter counted each admission in. With DB_CACHE_TABLE the limiter uses a
database cache in that table (of the database named by IMAGEX_DEDUP_DB_NAME), otherwise the
default cache.
"""

from __future__ import annotations

import sys
import time

import django
from django.test import override_settings

from tests.backends.caches import limiter_caches


def main(key: str, count: int, rate: int, start: float, table: str | None) -> None:
    django.setup()
    from imagex_dedup.backends.ratelimit import CacheRateLimiter

    readings: list[float] = []

    def clock() -> float:
        readings.append(time.time())
        return readings[-1]

    with override_settings(CACHES=limiter_caches(table)):
        limiter = CacheRateLimiter(rate, cache_alias="ratelimit", clock=clock)
        time.sleep(max(0.0, start - time.time()))
        for _ in range(count):
            limiter.acquire(key)
            print(int(readings[-1]), flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0], int(args[1]), int(args[2]), float(args[3]), args[4] if len(args) > 4 else None)
