"""Volcengine OpenAPI plumbing: request signing, error shapes and the veImageX HTTP client.

No Django imports here, so the signer and client work in any Python process.
"""

from imagex_dedup.volc.client import ImageXAPIError, ImageXClient
from imagex_dedup.volc.errors import (
    VOLC_ERROR_CODES,
    SignatureError,
    error_body,
    http_status_for,
    new_request_id,
)
from imagex_dedup.volc.ratelimit import RateLimiter, TokenBucketRateLimiter
from imagex_dedup.volc.signing import (
    Credentials,
    ParsedAuthorization,
    parse_authorization,
    sign_request,
    verify_request,
)

__all__ = [
    "VOLC_ERROR_CODES",
    "Credentials",
    "ImageXAPIError",
    "ImageXClient",
    "ParsedAuthorization",
    "RateLimiter",
    "SignatureError",
    "TokenBucketRateLimiter",
    "error_body",
    "http_status_for",
    "new_request_id",
    "parse_authorization",
    "sign_request",
    "verify_request",
]
