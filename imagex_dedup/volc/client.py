"""HTTP client for the veImageX duplicate-detection OpenAPI (and this app's compatible service).

Requests are signed with :func:`imagex_dedup.volc.signing.sign_request`, rate-limited per access
key, and retried with exponential backoff and jitter on 5xx, 429/FlowLimitExceeded, timeouts and
connection errors (never on other 4xx). Note that a retried asynchronous detection may create a
second task if the first attempt reached the server before failing.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter

from imagex_dedup.engine.similarity import parse_similarity
from imagex_dedup.version import USER_AGENT
from imagex_dedup.volc.ratelimit import RateLimiter, default_rate_limiter
from imagex_dedup.volc.signing import Credentials, sign_request

logger = logging.getLogger(__name__)

API_VERSION = "2018-08-01"
REGION_ENDPOINTS = {
    "cn-north-1": "https://imagex.volcengineapi.com",
    "ap-southeast-1": "https://imagex.ap-southeast-1.volcengineapi.com",
}
MAX_BACKOFF = 20.0
_REDACTED_HEADERS = frozenset({"authorization", "x-security-token"})


class ImageXAPIError(Exception):
    """An API call failed.

    ``code``/``code_n``/``request_id`` come from ``ResponseMetadata.Error`` when the server sent
    one. Transport failures (no usable response) have ``code`` "RequestTimeout" or
    "ConnectionError" and ``code_n``/``http_status``/``request_id`` None.
    """

    def __init__(
        self,
        code: str,
        code_n: int | None,
        message: str,
        http_status: int | None,
        request_id: str | None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.code_n = code_n
        self.message = message
        self.http_status = http_status
        self.request_id = request_id

    @property
    def retryable(self) -> bool:
        if self.http_status is None or self.code == "FlowLimitExceeded":
            return True
        return self.http_status >= 500 or self.http_status == 429


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Copy of ``headers`` fit for a log line."""
    return {k: "<redacted>" if k.lower() in _REDACTED_HEADERS else v for k, v in headers.items()}


def endpoint_for_region(region: str) -> str:
    try:
        return REGION_ENDPOINTS[region]
    except KeyError:
        raise ValueError(
            f"no known veImageX endpoint for region {region!r}; pass endpoint="
        ) from None


def normalise_task_status(result: Mapping[str, Any]) -> dict[str, Any]:
    """GetDedupTaskStatus ``Result`` in either documented shape -> {Status, TaskId, Score?, Groups}.

    The docs nest ``Result: {Status, TaskId, Result: {Score, Groups}}``; newer generated SDKs read
    a flat ``Result: {Status, TaskId, Score, Groups}``. Flat fields win when both are present.
    """
    inner = result.get("Result")
    inner = inner if isinstance(inner, Mapping) else {}
    out: dict[str, Any] = {
        "Status": result.get("Status"),
        "TaskId": result.get("TaskId"),
        "Groups": result.get("Groups", inner.get("Groups")) or {},
    }
    score = result.get("Score", inner.get("Score"))
    if score is not None:
        out["Score"] = score
    return out


def _result_from_response(response: requests.Response) -> dict[str, Any]:
    """The ``Result`` object of a successful response; raise ImageXAPIError for anything else."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    metadata = payload.get("ResponseMetadata") if isinstance(payload, dict) else None
    metadata = metadata if isinstance(metadata, dict) else {}
    error = metadata.get("Error")
    request_id = metadata.get("RequestId")
    # The Go SDK treats an Error with CodeN 0 and no Code as no error; so do we.
    if isinstance(error, dict) and (error.get("Code") or error.get("CodeN")):
        raise ImageXAPIError(
            str(error.get("Code") or "InternalError"),
            error.get("CodeN"),
            str(error.get("Message", "")),
            response.status_code,
            request_id,
        )
    status = response.status_code
    if status >= 400:
        if status == 429:
            code = "FlowLimitExceeded"
        elif status >= 500:
            code = "InternalError"
        else:
            code = "InvalidResponse"
        raise ImageXAPIError(code, None, f"HTTP {status}", status, request_id)
    result = payload.get("Result") if isinstance(payload, dict) else None
    if not isinstance(result, dict):
        raise ImageXAPIError(
            "InvalidResponse", None, "response has no Result object", status, request_id
        )
    return result


class ImageXClient:
    """veImageX OpenAPI client for GetImageDuplicateDetection and GetDedupTaskStatus."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        endpoint: str | None = None,
        timeout: float = 30,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        rate_limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.credentials = credentials
        base = endpoint or endpoint_for_region(credentials.region)
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"endpoint must be an http(s) URL, got {base!r}")
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        # The path prefix is kept: our own service may be mounted at e.g. /imagex/.
        self.base_url = f"{parts.scheme}://{parts.netloc}{path}"
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.rate_limiter = rate_limiter or default_rate_limiter()
        self._owns_session = session is None
        self.session = session or self._new_session()

    @staticmethod
    def _new_session() -> requests.Session:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> ImageXClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get_image_duplicate_detection(
        self,
        service_id: str,
        urls: Sequence[str],
        *,
        similarity: float | None = None,
        async_: bool = False,
        callback: str | None = None,
        extractor_type: str | None = None,
    ) -> dict[str, Any]:
        """Run (or, with ``async_``, start) duplicate detection; return the ``Result`` object.

        Synchronous: ``{"Score"?, "Groups": {...}}``; asynchronous: ``{"TaskId", "Callback"}``.
        """
        body: dict[str, Any] = {"Urls": list(urls), "Async": async_, "Callback": callback or ""}
        if similarity is not None:
            body["Similarity"] = parse_similarity(similarity)  # the one rule; ValueError if not
        if extractor_type is not None:
            body["ExtractorType"] = extractor_type
        return self._call(
            "POST",
            "GetImageDuplicateDetection",
            {"ServiceId": service_id},
            json.dumps(body, ensure_ascii=False).encode(),
        )

    def get_dedup_task_status(self, task_id: str) -> dict[str, Any]:
        """Poll an asynchronous task; return ``{"Status", "TaskId", "Score"?, "Groups"}``."""
        result = self._call("GET", "GetDedupTaskStatus", {"TaskId": task_id}, b"")
        return normalise_task_status(result)

    def _url(self, action: str, params: Mapping[str, str]) -> str:
        query = urlencode(
            {"Action": action, "Version": API_VERSION, **params}, quote_via=quote, safe="-_.~"
        )
        return f"{self.base_url}?{query}"

    def _call(
        self, method: str, action: str, params: Mapping[str, str], body: bytes
    ) -> dict[str, Any]:
        url = self._url(action, params)
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if method != "GET":
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            try:
                return self._attempt(method, url, headers, body, action)
            except ImageXAPIError as error:
                if not error.retryable or attempt >= self.max_retries:
                    raise
                delay = self._backoff(attempt)
                logger.warning(
                    "veImageX %s failed (%s, HTTP %s, RequestId %s); retry %d/%d in %.2fs",
                    action,
                    error.code,
                    error.http_status,
                    error.request_id,
                    attempt + 1,
                    self.max_retries,
                    delay,
                )
                time.sleep(delay)
                attempt += 1

    def _attempt(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, action: str
    ) -> dict[str, Any]:
        self.rate_limiter.acquire(self.credentials.access_key_id)
        # Signed per attempt so a retry carries a fresh X-Date.
        signed = sign_request(method, url, headers, body, self.credentials)
        logger.debug("veImageX %s %s headers=%s", method, url, redact_headers(signed))
        try:
            response = self.session.request(
                method, url, headers=signed, data=body, timeout=self.timeout
            )
        except requests.Timeout as exc:
            raise ImageXAPIError("RequestTimeout", None, str(exc), None, None) from exc
        except requests.ConnectionError as exc:
            raise ImageXAPIError("ConnectionError", None, str(exc), None, None) from exc
        logger.debug("veImageX %s -> HTTP %s", action, response.status_code)
        return _result_from_response(response)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        delay = min(MAX_BACKOFF, self.backoff_base * 2**attempt)
        return delay / 2 + random.uniform(0, delay / 2)
