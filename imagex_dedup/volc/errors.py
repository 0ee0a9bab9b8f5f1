"""Volcengine OpenAPI error codes, error bodies and request ids.

Codes with a CodeN below 700000 come from Volcengine's public error-code table (docs 6440/71573,
6369/68677, 6720/108305). FlowLimitExceeded's CodeN (100018) is the value other Volcengine
clients test for; the stored public table is cut off before that row, so treat it as
well-attested, not documented.
Codes with a CodeN of 700000 and above are imagex_dedup's own: Volcengine uses the names
(InvalidParameter, InvalidAuthorization, ...) without a common CodeN, and clients need a non-zero
CodeN (the Go SDK ignores errors whose CodeN is 0).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, NamedTuple

SERVICE_NAME = "imagex"


class ErrorCode(NamedTuple):
    code_n: int
    http_status: int
    default_message: str


ERRORS: dict[str, ErrorCode] = {
    # Volcengine public codes.
    "MissingParameter": ErrorCode(100002, 400, "The request is missing %s parameter."),
    # No Authorization header (nor other credentials) at all.
    "MissingAuthenticationToken": ErrorCode(
        100003, 401, "Request is missing Authentication Token."
    ),
    "MissingRequestInfo": ErrorCode(100004, 400, "The request is missing %s information."),
    "InvalidTimestamp": ErrorCode(100006, 400, "The Signature of the request is expired."),
    "ServiceNotFound": ErrorCode(100007, 404, "This service[%s] not found."),
    "InvalidActionOrVersion": ErrorCode(100008, 404, "Could not find operation %s for version %s."),
    "InvalidAccessKey": ErrorCode(
        100009, 401, "The accesskey [%s] included in the request is invalid."
    ),
    "SignatureDoesNotMatch": ErrorCode(
        100010,
        401,
        "The request signature we calculated does not match the signature you provided. "
        "Check your Secret Access Key and signing method. "
        "Consult the service documentation for details.",
    ),
    "AccessDenied": ErrorCode(100013, 403, "User is not authorized to perform: %s."),
    "InternalError": ErrorCode(100014, 500, "Service has some internal Error."),
    "InternalServiceTimeout": ErrorCode(100016, 504, "Internal Service is timeout."),
    "FlowLimitExceeded": ErrorCode(100018, 429, "Flow limit exceeded."),
    # imagex_dedup codes (Volcengine-style names, our CodeN).
    "InvalidParameter": ErrorCode(700001, 400, "The parameter %s is invalid."),
    "InvalidAuthorization": ErrorCode(700002, 400, "Invalid 'Authorization' header."),
    "InvalidServiceId": ErrorCode(700003, 404, "The ServiceId [%s] does not exist."),
    "TaskNotFound": ErrorCode(700004, 404, "The task [%s] does not exist."),
    "RequestTimeout": ErrorCode(700005, 504, "The request timed out."),
    "RequestEntityTooLarge": ErrorCode(
        700006, 413, "The request body is larger than the limit of %s bytes."
    ),
    "SignatureReplayed": ErrorCode(
        700007, 401, "This request signature was already used; sign every request anew."
    ),
}

VOLC_ERROR_CODES: dict[str, int] = {name: spec.code_n for name, spec in ERRORS.items()}

_BEIJING = timezone(timedelta(hours=8))


class SignatureError(Exception):
    """A request failed authentication; ``code`` is a key of :data:`ERRORS`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return http_status_for(self.code)

    @property
    def code_n(self) -> int:
        return code_n_for(self.code)


def http_status_for(code: str) -> int:
    """HTTP status for an error code; unknown codes are server errors."""
    spec = ERRORS.get(code)
    return spec.http_status if spec else 500


def code_n_for(code: str) -> int:
    """CodeN for an error code; unknown codes borrow InternalError's so CodeN is never 0."""
    spec = ERRORS.get(code)
    return spec.code_n if spec else ERRORS["InternalError"].code_n


def message_for(code: str, *args: object) -> str:
    """Volcengine's message text for ``code``, with its ``%s`` placeholders filled from ``args``."""
    template = ERRORS[code].default_message
    return template % args if args else template


def new_request_id(now: datetime | None = None) -> str:
    """A RequestId in Volcengine's shape: Beijing-time ``YYYYMMDDHHMMSS`` + 18 uppercase hex.

    Volcengine's published responses pair X-Date 20240914T031418Z with RequestId
    ``20240914111422032237071040BFD028``: the prefix is UTC+8 wall-clock time.
    """
    moment = (now or datetime.now(UTC)).astimezone(_BEIJING)
    return moment.strftime("%Y%m%d%H%M%S") + secrets.token_hex(9).upper()


def response_metadata(
    *, request_id: str, action: str, version: str, region: str = "cn-north-1"
) -> dict[str, Any]:
    return {
        "RequestId": request_id,
        "Action": action,
        "Version": version,
        "Service": SERVICE_NAME,
        "Region": region,
    }


def error_body(
    code: str,
    message: str,
    *,
    request_id: str,
    action: str,
    version: str,
    region: str = "cn-north-1",
) -> dict[str, Any]:
    """The JSON body of a Volcengine error response."""
    metadata = response_metadata(
        request_id=request_id, action=action, version=version, region=region
    )
    metadata["Error"] = {"CodeN": code_n_for(code), "Code": code, "Message": message}
    return {"ResponseMetadata": metadata}
