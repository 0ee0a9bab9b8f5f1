"""Routing and validation of service requests, the way veImageX's OpenAPI gateway does it.

Everything here is pure (no database, no DRF): a request is refused with a
:class:`~imagex_dedup.service.errors.ServiceError` before anything is stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.utils.dateparse import parse_date, parse_datetime

from imagex_dedup.engine.similarity import RULE, InvalidSimilarity
from imagex_dedup.engine.similarity import parse_similarity as engine_parse_similarity
from imagex_dedup.service.errors import ServiceError

API_VERSION = "2018-08-01"
DETECT = "GetImageDuplicateDetection"
STATUS = "GetDedupTaskStatus"
USAGE = "GetDedupUsage"  # imagex_dedup extension

# (HTTP method, Action) -> the action that handles it. The legacy ``volcengine.imagex``
# ImageXService polls with GET ?Action=GetImageDuplicateDetection&TaskId=..., so that is a status
# query too.
ROUTES: dict[tuple[str, str], str] = {
    ("POST", DETECT): DETECT,
    ("GET", STATUS): STATUS,
    ("GET", DETECT): STATUS,
    ("GET", USAGE): USAGE,
}

# Both use the engine's one fingerprint: it already is its most robust mode (dihedral-, crop- and
# re-encoding-tolerant scoring); "cnn" is accepted so cloud clients work unchanged.
EXTRACTOR_TYPES = frozenset({"hash", "cnn"})
MAX_URL_LENGTH = 2000
USAGE_DEFAULT_DAYS = 30


@dataclass(frozen=True)
class DetectionParams:
    """A validated GetImageDuplicateDetection request."""

    service_id: str
    urls: tuple[str, ...]
    similarity: Decimal | None  # None: the service's default
    is_async: bool
    callback: str
    extractor_type: str

    def as_json(self, similarity: Decimal) -> dict[str, Any]:
        """What a DetectionTask stores, with the similarity actually used."""
        return {
            "ServiceId": self.service_id,
            "Urls": list(self.urls),
            "Similarity": str(similarity),
            "ExtractorType": self.extractor_type,
            "Callback": self.callback,
        }


@dataclass(frozen=True)
class UsageParams:
    service_id: str
    start: datetime
    end: datetime


def resolve_action(method: str, query: Mapping[str, str]) -> str:
    """The action a request addresses, or ServiceError (MissingParameter/InvalidActionOrVersion)."""
    action, version = query.get("Action"), query.get("Version")
    if not action:
        raise ServiceError("MissingParameter", None, "Action")
    if not version:
        raise ServiceError("MissingParameter", None, "Version")
    route = ROUTES.get((method.upper(), action))
    if route is None or version != API_VERSION:
        raise ServiceError("InvalidActionOrVersion", None, action, version)
    return route


def is_http_url(value: object) -> bool:
    """An absolute http(s) URL with a host, no whitespace or control characters."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LENGTH:
        return False
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def parse_similarity(value: object) -> Decimal:
    """A JSON number under the engine's one threshold rule (``engine.similarity.RULE``)."""
    try:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidSimilarity(f"Similarity must be {RULE}, not {value!r}.")
        return Decimal(str(engine_parse_similarity(value))).quantize(Decimal("0.01"))
    except InvalidSimilarity as error:
        raise ServiceError("InvalidParameter", str(error)) from None


def _json_object(content_type: str, body: bytes) -> dict[str, Any]:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise ServiceError(
            "InvalidParameter",
            f"Content-Type must be application/json, not {media_type or 'missing'!r}.",
        )

    def refuse_constant(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    try:
        payload = json.loads(body or b"", parse_constant=refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[...]]]]
        raise ServiceError("InvalidParameter", "The request body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise ServiceError("InvalidParameter", "The request body must be a JSON object.")
    return payload


def _service_id(query: Mapping[str, str], payload: Mapping[str, Any]) -> str:
    in_query, in_body = query.get("ServiceId", ""), payload.get("ServiceId", "")
    if not isinstance(in_body, str):
        raise ServiceError("InvalidParameter", "ServiceId must be a string.")
    if in_query and in_body and in_query != in_body:
        raise ServiceError("InvalidParameter", "ServiceId differs between query and body.")
    service_id = in_query or in_body
    if not service_id:
        raise ServiceError("MissingParameter", None, "ServiceId")
    return service_id


def _urls(payload: Mapping[str, Any], max_urls: int) -> tuple[str, ...]:
    if "Urls" not in payload:
        raise ServiceError("MissingParameter", None, "Urls")
    urls = payload["Urls"]
    if not isinstance(urls, list) or not urls:
        raise ServiceError("InvalidParameter", "Urls must be a non-empty list of URLs.")
    if len(urls) > max_urls:
        raise ServiceError("InvalidParameter", f"Urls accepts at most {max_urls} URLs.")
    for index, url in enumerate(urls):
        if not is_http_url(url):
            raise ServiceError("InvalidParameter", f"Urls[{index}] is not an http(s) URL.")
    return tuple(urls)


def parse_detection(
    query: Mapping[str, str], content_type: str, body: bytes, *, max_urls: int
) -> DetectionParams:
    """Validate a GetImageDuplicateDetection request (query string + JSON body)."""
    payload = _json_object(content_type, body)
    service_id = _service_id(query, payload)
    urls = _urls(payload, max_urls)
    similarity = payload.get("Similarity")
    is_async = payload.get("Async", False)
    if not isinstance(is_async, bool):
        raise ServiceError("InvalidParameter", "Async must be true or false.")
    callback = payload.get("Callback") or ""
    if not isinstance(callback, str):
        raise ServiceError("InvalidParameter", "Callback must be a string.")
    if is_async and not callback:
        raise ServiceError("MissingParameter", None, "Callback")
    if callback and not is_http_url(callback):
        raise ServiceError("InvalidParameter", "Callback is not an http(s) URL.")
    extractor = payload.get("ExtractorType") or "hash"
    if extractor not in EXTRACTOR_TYPES:
        raise ServiceError("InvalidParameter", 'ExtractorType must be "hash" or "cnn".')
    return DetectionParams(
        service_id=service_id,
        urls=urls,
        similarity=None if similarity is None else parse_similarity(similarity),
        is_async=is_async,
        callback=callback,
        extractor_type=extractor,
    )


def parse_task_id(query: Mapping[str, str]) -> str:
    task_id = query.get("TaskId", "")
    if not task_id:
        raise ServiceError("MissingParameter", None, "TaskId")
    return task_id


def _moment(query: Mapping[str, str], name: str, default: datetime) -> datetime:
    """An RFC 3339 time or a YYYY-MM-DD date (midnight UTC); naive times are UTC."""
    raw = query.get(name, "")
    if not raw:
        return default
    try:
        moment = parse_datetime(raw)
        if moment is None and (day := parse_date(raw)) is not None:
            moment = datetime.combine(day, time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise ServiceError("InvalidParameter", f"{name} must be an RFC 3339 time or a date.")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_usage(query: Mapping[str, str], *, now: datetime) -> UsageParams:
    """ServiceId plus an optional [StartTime, EndTime) window (default: the last 30 days)."""
    service_id = _service_id(query, {})
    end = _moment(query, "EndTime", now)
    start = _moment(query, "StartTime", end - timedelta(days=USAGE_DEFAULT_DAYS))
    if start > end:
        raise ServiceError("InvalidParameter", "StartTime must not be after EndTime.")
    return UsageParams(service_id=service_id, start=start, end=end)
