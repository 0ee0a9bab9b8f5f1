"""Per-caller rate limits of the service (DRF throttles on the shared Django cache, so every
process serving the API counts against the same budget).

DRF's sliding-window log is read and written without a lock: under truly simultaneous
requests a caller can slip a few requests past the limit; it never blocks one wrongly.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from imagex_dedup.api.service_auth import SignedRequest
from imagex_dedup.conf import dedup_settings


class ServiceCallerThrottle(SimpleRateThrottle):
    """Counts per user; signed requests of a key without a user count per access key."""

    rate_setting = ""

    def get_rate(self) -> str | None:
        return getattr(dedup_settings, self.rate_setting)

    def get_cache_key(self, request: Request, view: Any) -> str:
        if request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        elif isinstance(request.auth, SignedRequest):
            ident = f"ak-{request.auth.access_key.access_key_id}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class DetectionRateThrottle(ServiceCallerThrottle):
    scope = "imagex_dedup_detection"
    rate_setting = "SERVICE_RATE"


class StatusRateThrottle(ServiceCallerThrottle):
    scope = "imagex_dedup_status"
    rate_setting = "STATUS_RATE"
