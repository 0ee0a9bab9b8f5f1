"""Per-caller rate limits of the service, on the shared Django cache (every process serving the
API counts against the same budget).

A limit ``"N/period"`` is a token bucket of N tokens refilled at N per period, kept as one number
per caller (the generic cell rate algorithm: the caller's *theoretical arrival time*, TAT).
A request is allowed while ``TAT - now`` stays within the burst tolerance ``(N - 1) * period / N``;
each allowed request moves TAT on by ``period / N``. So N requests at once are allowed and the
(N+1)th is refused, and a client pacing itself at exactly N per period is never refused, however
its requests jitter on the way. DRF's sliding log (what this replaced) refused 8 % of the requests
of clients sending exactly 10/s under load: a request is counted when a server thread takes it,
and a few milliseconds of scheduling put 11 of them in one second. The price: right after an idle
period a caller can send N at once and then N more over the next period.

The state is read and written without a lock: truly simultaneous requests of one caller can slip
a few past the limit; it never refuses one wrongly.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from imagex_dedup.conf import dedup_settings
from imagex_dedup.service.auth import SignedRequest

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``(count, seconds)`` of a rate in DRF's syntax: ``"10/s"``, ``"100/minute"``..."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period[:1]]


class ServiceCallerThrottle(BaseThrottle):
    """Counts per user; signed requests of a key without a user count per access key."""

    scope = ""
    rate_setting = ""
    timer = staticmethod(time.time)

    def __init__(self) -> None:
        self.delay: float | None = None

    def caller(self, request: Request) -> str:
        if request.user and request.user.is_authenticated:
            return f"user-{request.user.pk}"
        if isinstance(request.auth, SignedRequest):
            return f"ak-{request.auth.access_key.access_key_id}"
        return self.get_ident(request)

    def allow_request(self, request: Request, view: Any) -> bool:
        rate = getattr(dedup_settings, self.rate_setting)
        if rate is None:
            return True
        count, period = parse_rate(rate)
        interval = period / count
        key = f"imagex_dedup_throttle_{self.scope}_{self.caller(request)}"
        now = self.timer()
        arrival = max(float(cache.get(key, now)), now)
        ahead = arrival - now - (period - interval)
        if ahead > 1e-6:  # not 0: sums of float intervals (0.2 * 4 > 0.8) would refuse the Nth
            self.delay = ahead
            return False
        cache.set(key, arrival + interval, timeout=max(1, int(period) + 1))
        return True

    def wait(self) -> float | None:
        return self.delay


class DetectionRateThrottle(ServiceCallerThrottle):
    scope = "imagex_dedup_detection"
    rate_setting = "SERVICE_RATE"


class StatusRateThrottle(ServiceCallerThrottle):
    scope = "imagex_dedup_status"
    rate_setting = "STATUS_RATE"
