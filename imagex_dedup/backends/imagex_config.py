"""Settings of the ``imagex`` backend (``IMAGEX_DEDUP["IMAGEX"]``) and their system checks.

Credentials come from the settings, else from the environment variables ``VOLC_ACCESSKEY`` and
``VOLC_SECRETKEY`` that the official Volcengine SDKs read. The secret never appears in a repr,
a log line or a check message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from django.core.checks import CheckMessage, Warning

from imagex_dedup.backends.ratelimit import cache_is_shared
from imagex_dedup.conf import dedup_settings
from imagex_dedup.volc.client import REGION_ENDPOINTS
from imagex_dedup.volc.signing import Credentials

ENV_ACCESS_KEY = "VOLC_ACCESSKEY"
ENV_SECRET_KEY = "VOLC_SECRETKEY"  # noqa: S105 (the name of the variable, not a secret)


@dataclass(frozen=True)
class ImageXConfig:
    access_key_id: str
    secret_access_key: str
    region: str
    endpoint: str
    service_id: str
    top_k: int
    candidate_similarity: float
    batch_size: int
    rate_limit: int
    rate_limit_cache: str
    async_threshold: int
    timeout: float

    def __repr__(self) -> str:
        secret = "<set>" if self.secret_access_key else "<missing>"
        return (
            f"ImageXConfig(access_key_id={self.access_key_id!r}, secret_access_key={secret}, "
            f"region={self.region!r}, endpoint={self.endpoint!r}, service_id={self.service_id!r})"
        )

    __str__ = __repr__

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.access_key_id, self.secret_access_key, region=self.region)

    @classmethod
    def from_settings(cls) -> ImageXConfig:
        raw: dict[str, Any] = dedup_settings.imagex
        return cls(
            access_key_id=raw["ACCESS_KEY_ID"] or os.environ.get(ENV_ACCESS_KEY, ""),
            secret_access_key=raw["SECRET_ACCESS_KEY"] or os.environ.get(ENV_SECRET_KEY, ""),
            region=raw["REGION"],
            endpoint=raw["ENDPOINT"],
            service_id=raw["SERVICE_ID"],
            top_k=int(raw["TOP_K"]),
            candidate_similarity=float(raw["CANDIDATE_SIMILARITY"]),
            batch_size=int(raw["BATCH_SIZE"]),
            rate_limit=int(raw["RATE_LIMIT"]),
            rate_limit_cache=raw["RATE_LIMIT_CACHE"],
            async_threshold=int(raw["ASYNC_THRESHOLD"]),
            timeout=float(raw["TIMEOUT"]),
        )


def _warning(number: int, message: str, hint: str) -> Warning:
    return Warning(message, hint=hint, id=f"imagex_dedup.W{number:03d}")


def check_imagex_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warnings W010-W015 for a host that selected ``BACKEND = "imagex"``."""
    if dedup_settings.backend != "imagex":
        return []
    try:
        config = ImageXConfig.from_settings()
    except (KeyError, TypeError, ValueError) as error:
        return [
            _warning(
                15,
                f'IMAGEX_DEDUP["IMAGEX"] has an invalid value: {error}.',
                "TOP_K, BATCH_SIZE, RATE_LIMIT and ASYNC_THRESHOLD are integers; "
                "CANDIDATE_SIMILARITY and TIMEOUT numbers.",
            )
        ]
    messages: list[CheckMessage] = []
    if not (config.access_key_id and config.secret_access_key):
        messages.append(
            _warning(
                10,
                "The imagex backend has no veImageX credentials.",
                'Set IMAGEX_DEDUP["IMAGEX"]["ACCESS_KEY_ID"] and ["SECRET_ACCESS_KEY"], or the '
                f"environment variables {ENV_ACCESS_KEY} and {ENV_SECRET_KEY}.",
            )
        )
    if not config.service_id:
        messages.append(
            _warning(
                11,
                "The imagex backend has no SERVICE_ID.",
                'Set IMAGEX_DEDUP["IMAGEX"]["SERVICE_ID"] to your veImageX service id.',
            )
        )
    if not dedup_settings.public_base_url:
        messages.append(
            _warning(
                12,
                "The imagex backend needs PUBLIC_BASE_URL: the service fetches images by URL "
                "and posts asynchronous results to this site's callback view.",
                'Set IMAGEX_DEDUP["PUBLIC_BASE_URL"] = "https://your.site".',
            )
        )
    if not config.endpoint and config.region not in REGION_ENDPOINTS:
        messages.append(
            _warning(
                13,
                f"The imagex backend has no endpoint for region {config.region!r}.",
                f"Use one of {', '.join(sorted(REGION_ENDPOINTS))} or set ENDPOINT.",
            )
        )
    if config.top_k < 1 or config.batch_size < 2 or config.rate_limit < 1:
        messages.append(
            _warning(
                15,
                'IMAGEX_DEDUP["IMAGEX"] limits are out of range.',
                "TOP_K and RATE_LIMIT must be at least 1, BATCH_SIZE at least 2 (the new image "
                "and one candidate).",
            )
        )
    if not cache_is_shared(config.rate_limit_cache):
        messages.append(
            _warning(
                14,
                f"The cache {config.rate_limit_cache!r} cannot enforce RATE_LIMIT across "
                "processes (it is per process, or has no atomic add).",
                "Point RATE_LIMIT_CACHE at a Redis, Memcached or database cache.",
            )
        )
    return messages
