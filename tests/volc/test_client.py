"""ImageXClient over a fake transport adapter, and once over a real loopback HTTP server."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from imagex_dedup.volc.client import ImageXAPIError, ImageXClient, redact_headers
from imagex_dedup.volc.ratelimit import TokenBucketRateLimiter
from imagex_dedup.volc.signing import Credentials, verify_request
from tests.volc.conftest import (
    TEST_AK,
    TEST_SK,
    FakeTransport,
    err_payload,
    ok_payload,
    session_with,
)

CREDS = Credentials(TEST_AK, TEST_SK)
URLS = ["https://example.com/a.jpg", "https://example.com/b.jpg"]


class RecordingLimiter:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def acquire(self, key: str) -> None:
        self.keys.append(key)


def make_client(transport: FakeTransport, **kwargs) -> ImageXClient:
    kwargs.setdefault("backoff_base", 0)
    kwargs.setdefault("rate_limiter", RecordingLimiter())
    return ImageXClient(CREDS, session=session_with(transport), **kwargs)


def verify(prepared: requests.PreparedRequest):
    """Authenticate a recorded request exactly as a server would see it."""
    split = urlsplit(prepared.url)
    return verify_request(
        prepared.method,
        split.path,
        split.query,
        dict(prepared.headers),
        prepared.body or b"",
        {TEST_AK: TEST_SK}.get,
    )


def test_sync_detection_success_and_wire_format() -> None:
    result = {"Score": "1.0", "Groups": {"group0": URLS}}
    transport = FakeTransport((200, ok_payload(result)))
    client = make_client(transport)

    assert client.get_image_duplicate_detection("svc 1", URLS, similarity=0.8) == result

    (sent,) = transport.requests
    split = urlsplit(sent.url)
    assert (sent.method, split.scheme, split.netloc, split.path) == (
        "POST",
        "https",
        "imagex.volcengineapi.com",
        "/",
    )
    assert parse_qs(split.query) == {
        "Action": ["GetImageDuplicateDetection"],
        "Version": ["2018-08-01"],
        "ServiceId": ["svc 1"],
    }
    assert "%20" in split.query
    assert json.loads(sent.body) == {
        "Urls": URLS,
        "Async": False,
        "Callback": "",
        "Similarity": 0.8,
    }
    assert sent.headers["Content-Type"] == "application/json"
    for name in ("Authorization", "X-Date", "X-Content-Sha256"):
        assert name in sent.headers
    auth = verify(sent)
    assert (auth.service, auth.region) == ("ImageX", "cn-north-1")
    assert "content-type" in auth.signed_headers and "host" in auth.signed_headers


def test_async_detection_sends_callback_and_extractor() -> None:
    result = {"TaskId": "t-1", "Callback": "https://cb.example/hook"}
    transport = FakeTransport((200, ok_payload(result)))
    client = make_client(transport)

    got = client.get_image_duplicate_detection(
        "svc", URLS, async_=True, callback="https://cb.example/hook", extractor_type="cnn"
    )

    assert got == result
    body = json.loads(transport.requests[0].body)
    assert body["Async"] is True
    assert body["Callback"] == "https://cb.example/hook"
    assert body["ExtractorType"] == "cnn"
    assert "Similarity" not in body


@pytest.mark.parametrize(
    "result",
    [
        {"Status": 1, "TaskId": "t-9", "Result": {"Score": "0.9", "Groups": {"group0": URLS}}},
        {"Status": 1, "TaskId": "t-9", "Score": "0.9", "Groups": {"group0": URLS}},
        {
            "Status": 1,
            "TaskId": "t-9",
            "Score": "0.9",
            "Groups": {"group0": URLS},
            "Result": {"Score": "0.9", "Groups": {"group0": URLS}},
        },
    ],
    ids=["nested", "flat", "both"],
)
def test_task_status_shapes_normalised(result: dict) -> None:
    transport = FakeTransport((200, ok_payload(result, "GetDedupTaskStatus")))
    client = make_client(transport)

    got = client.get_dedup_task_status("t-9")

    assert got == {"Status": 1, "TaskId": "t-9", "Score": "0.9", "Groups": {"group0": URLS}}
    (sent,) = transport.requests
    assert sent.method == "GET"
    assert parse_qs(urlsplit(sent.url).query)["Action"] == ["GetDedupTaskStatus"]
    assert not sent.body
    verify(sent)


def test_task_status_running_has_no_score() -> None:
    transport = FakeTransport((200, ok_payload({"Status": 0, "TaskId": "t"})))
    assert make_client(transport).get_dedup_task_status("t") == {
        "Status": 0,
        "TaskId": "t",
        "Groups": {},
    }


@pytest.mark.parametrize(
    "failure",
    [
        (500, err_payload("InternalError")),
        (502, b"<html>bad gateway</html>"),
        (429, err_payload("FlowLimitExceeded")),
        (429, b""),
        requests.ConnectionError("refused"),
        requests.ReadTimeout("slow"),
    ],
    ids=["500", "502-html", "429", "429-empty", "connection", "timeout"],
)
def test_retry_then_success(failure) -> None:
    transport = FakeTransport(failure, (200, ok_payload({"Groups": {}})))
    limiter = RecordingLimiter()
    client = make_client(transport, rate_limiter=limiter)

    assert client.get_image_duplicate_detection("svc", URLS) == {"Groups": {}}

    assert len(transport.requests) == 2
    assert limiter.keys == [TEST_AK, TEST_AK]
    # each attempt is signed afresh and verifies on its own
    for sent in transport.requests:
        verify(sent)


def test_no_retry_on_client_error_and_error_mapping() -> None:
    transport = FakeTransport((400, err_payload("InvalidParameter", "Urls is empty")))
    client = make_client(transport)

    with pytest.raises(ImageXAPIError) as excinfo:
        client.get_image_duplicate_detection("svc", [])

    error = excinfo.value
    assert (error.code, error.code_n, error.message, error.http_status) == (
        "InvalidParameter",
        700001,
        "Urls is empty",
        400,
    )
    assert error.request_id == "20261125000000ABCDEF0123456789ABCD"
    assert len(transport.requests) == 1


def test_signature_error_is_not_retried() -> None:
    transport = FakeTransport((401, err_payload("SignatureDoesNotMatch")))
    with pytest.raises(ImageXAPIError) as excinfo:
        make_client(transport).get_dedup_task_status("t")
    assert (excinfo.value.code_n, excinfo.value.http_status) == (100010, 401)
    assert len(transport.requests) == 1


def test_error_in_200_response_is_raised() -> None:
    transport = FakeTransport((200, err_payload("InvalidServiceId")))
    with pytest.raises(ImageXAPIError) as excinfo:
        make_client(transport).get_image_duplicate_detection("nope", URLS)
    assert excinfo.value.code == "InvalidServiceId"


def test_success_without_result_is_invalid_response() -> None:
    transport = FakeTransport((200, {"ResponseMetadata": {"RequestId": "r"}}))
    with pytest.raises(ImageXAPIError) as excinfo:
        make_client(transport).get_image_duplicate_detection("svc", URLS)
    assert excinfo.value.code == "InvalidResponse"
    assert len(transport.requests) == 1


def test_timeouts_exhaust_retries() -> None:
    transport = FakeTransport(*[requests.ConnectTimeout("connect") for _ in range(3)])
    client = make_client(transport, timeout=2.5, max_retries=2)

    with pytest.raises(ImageXAPIError) as excinfo:
        client.get_image_duplicate_detection("svc", URLS)

    assert excinfo.value.code == "RequestTimeout"
    assert excinfo.value.http_status is None
    assert len(transport.requests) == 3
    assert all(kwargs["timeout"] == 2.5 for kwargs in transport.kwargs)


def test_server_errors_exhaust_retries() -> None:
    transport = FakeTransport(*[(503, err_payload("InternalError")) for _ in range(4)])
    with pytest.raises(ImageXAPIError) as excinfo:
        make_client(transport).get_image_duplicate_detection("svc", URLS)
    assert excinfo.value.http_status == 503
    assert len(transport.requests) == 4  # first try + max_retries=3


@pytest.mark.parametrize(
    ("endpoint", "base"),
    [
        ("http://127.0.0.1:8000/imagex/", "http://127.0.0.1:8000/imagex/"),
        ("http://127.0.0.1:8000/imagex", "http://127.0.0.1:8000/imagex/"),
        ("https://imagex.example.com", "https://imagex.example.com/"),
    ],
)
def test_endpoint_path_prefix_preserved(endpoint: str, base: str) -> None:
    transport = FakeTransport((200, ok_payload({"Groups": {}})))
    make_client(transport, endpoint=endpoint).get_image_duplicate_detection("svc", URLS)
    (sent,) = transport.requests
    assert sent.url.startswith(base + "?Action=GetImageDuplicateDetection&")
    verify(sent)


def test_region_endpoints() -> None:
    sg = Credentials(TEST_AK, TEST_SK, region="ap-southeast-1")
    assert ImageXClient(sg).base_url == "https://imagex.ap-southeast-1.volcengineapi.com/"
    assert ImageXClient(CREDS).base_url == "https://imagex.volcengineapi.com/"
    with pytest.raises(ValueError, match="region"):
        ImageXClient(Credentials(TEST_AK, TEST_SK, region="mars-1"))
    with pytest.raises(ValueError, match="endpoint"):
        ImageXClient(CREDS, endpoint="ftp://example.com/")


@pytest.mark.parametrize("similarity", [-0.1, 0, 1.01, 0.845])
def test_similarity_validated(similarity: float) -> None:
    client = make_client(FakeTransport())
    with pytest.raises(ValueError, match="Similarity must be"):
        client.get_image_duplicate_detection("svc", URLS, similarity=similarity)


def test_logs_never_contain_credentials(caplog) -> None:
    transport = FakeTransport((500, err_payload("InternalError")), (200, ok_payload({})))
    caplog.set_level(logging.DEBUG, logger="imagex_dedup.volc")
    make_client(transport).get_image_duplicate_detection("svc", URLS)

    signature = transport.requests[-1].headers["Authorization"].rsplit("=", 1)[1]
    assert "<redacted>" in caplog.text
    assert TEST_SK not in caplog.text
    assert signature not in caplog.text
    assert redact_headers({"authorization": "x", "A": "b"}) == {
        "authorization": "<redacted>",
        "A": "b",
    }


def test_token_bucket_limits_per_key() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = TokenBucketRateLimiter(10, clock=lambda: now[0], sleep=sleep)
    for _ in range(10):
        limiter.acquire("ak-1")
    assert slept == []  # a full burst is free
    limiter.acquire("ak-1")
    assert slept == [pytest.approx(0.1)]
    limiter.acquire("ak-2")  # other credentials have their own bucket
    assert len(slept) == 1
    now[0] += 1.0
    for _ in range(10):
        limiter.acquire("ak-1")
    assert len(slept) == 1


def test_default_rate_limiter_is_shared() -> None:
    assert ImageXClient(CREDS).rate_limiter is ImageXClient(CREDS).rate_limiter


def test_client_and_verifier_agree_over_real_http(loopback_server) -> None:
    loopback_server.result = {"Score": "1.0", "Groups": {"group0": URLS}}
    endpoint = loopback_server.url + "/imagex/"
    with ImageXClient(CREDS, endpoint=endpoint, backoff_base=0) as client:
        result = client.get_image_duplicate_detection(
            "svc 1+2/中", URLS, similarity=0.84, callback="https://cb.example/?a=1&b=2"
        )
        status = client.get_dedup_task_status("task é+1")
    assert result == {"Score": "1.0", "Groups": {"group0": URLS}}
    assert status["Groups"] == {"group0": URLS}
    assert [r.get("error") for r in loopback_server.received] == [None, None]
    assert loopback_server.received[0]["path"] == "/imagex/"

    wrong = Credentials(TEST_AK, "not-the-secret")
    with (
        ImageXClient(wrong, endpoint=endpoint, backoff_base=0) as client,
        pytest.raises(ImageXAPIError) as excinfo,
    ):
        client.get_dedup_task_status("t")
    assert (excinfo.value.code, excinfo.value.code_n, excinfo.value.http_status) == (
        "SignatureDoesNotMatch",
        100010,
        401,
    )
    assert len(loopback_server.received) == 3  # rejected once, not retried
