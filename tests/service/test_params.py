"""Bad input: every refusal is a Volcengine error with the right CodeN and HTTP status, and
nothing is stored (no DetectionTask, no UsageRecord)."""

from __future__ import annotations

import json

import pytest

from imagex_dedup.models import DetectionTask, UsageRecord
from imagex_dedup.volc.errors import ERRORS
from tests.service.conftest import SERVICE_ID, VERSION

GOOD_URLS = ["http://127.0.0.1:9/a.jpg", "https://img.example.com/b.png"]
DETECT = {"Action": "GetImageDuplicateDetection", "Version": VERSION, "ServiceId": SERVICE_ID}


def body(**fields: object) -> dict[str, object]:
    return {"Urls": GOOD_URLS, **fields}


BAD_DETECTION = {
    "missing ServiceId": (None, body(), {}, "MissingParameter"),
    "unknown ServiceId": ("nope", body(), {}, "InvalidServiceId"),
    "ServiceId differs in body": (SERVICE_ID, body(ServiceId="other"), {}, "InvalidParameter"),
    "wrong content type": (SERVICE_ID, body(), {"content_type": "text/plain"}, "InvalidParameter"),
    "form content type": (
        SERVICE_ID,
        b"Urls=http://x/a.jpg",
        {"content_type": "application/x-www-form-urlencoded"},
        "InvalidParameter",
    ),
    "malformed JSON": (SERVICE_ID, b'{"Urls": [', {}, "InvalidParameter"),
    "JSON NaN": (
        SERVICE_ID,
        b'{"Urls": ["http://a/b.jpg"], "Similarity": NaN}',
        {},
        "InvalidParameter",
    ),
    "JSON array body": (SERVICE_ID, b"[1]", {}, "InvalidParameter"),
    "blank body": (SERVICE_ID, b" ", {}, "InvalidParameter"),
    "Urls missing": (SERVICE_ID, {"Async": False}, {}, "MissingParameter"),
    "Urls empty": (SERVICE_ID, {"Urls": []}, {}, "InvalidParameter"),
    "Urls a string": (SERVICE_ID, {"Urls": "http://a/b.jpg"}, {}, "InvalidParameter"),
    "Urls with a number": (SERVICE_ID, {"Urls": ["http://a/b.jpg", 3]}, {}, "InvalidParameter"),
    "Urls ftp": (SERVICE_ID, {"Urls": ["ftp://a/b.jpg"]}, {}, "InvalidParameter"),
    "Urls relative": (SERVICE_ID, {"Urls": ["/b.jpg"]}, {}, "InvalidParameter"),
    "Urls no host": (SERVICE_ID, {"Urls": ["http:///b.jpg"]}, {}, "InvalidParameter"),
    "Urls with space": (SERVICE_ID, {"Urls": ["http://a/b c.jpg"]}, {}, "InvalidParameter"),
    "too many Urls": (
        SERVICE_ID,
        {"Urls": [f"http://a/{i}.jpg" for i in range(4)]},
        {},
        "InvalidParameter",
    ),
    "Similarity above 1": (SERVICE_ID, body(Similarity=1.01), {}, "InvalidParameter"),
    "Similarity negative": (SERVICE_ID, body(Similarity=-0.1), {}, "InvalidParameter"),
    "Similarity three decimals": (SERVICE_ID, body(Similarity=0.845), {}, "InvalidParameter"),
    "Similarity a string": (SERVICE_ID, body(Similarity="0.8"), {}, "InvalidParameter"),
    "Similarity a bool": (SERVICE_ID, body(Similarity=True), {}, "InvalidParameter"),
    "Async not a bool": (SERVICE_ID, body(Async="yes"), {}, "InvalidParameter"),
    "Async without Callback": (SERVICE_ID, body(Async=True), {}, "MissingParameter"),
    "Async with empty Callback": (
        SERVICE_ID,
        body(Async=True, Callback=""),
        {},
        "MissingParameter",
    ),
    "Callback not http": (
        SERVICE_ID,
        body(Async=True, Callback="ftp://client.example.com/x"),
        {},
        "InvalidParameter",
    ),
    "Callback not a URL": (SERVICE_ID, body(Async=True, Callback="done"), {}, "InvalidParameter"),
    "Callback not a string": (SERVICE_ID, body(Async=True, Callback=5), {}, "InvalidParameter"),
    "ExtractorType unknown": (SERVICE_ID, body(ExtractorType="sift"), {}, "InvalidParameter"),
}


@pytest.fixture
def few_urls(settings: object) -> None:
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "MAX_URLS_PER_REQUEST": 3}


def assert_refused(response: object, code: str) -> dict[str, object]:
    payload = response.json()
    error = payload["ResponseMetadata"]["Error"]
    assert (error["Code"], error["CodeN"]) == (code, ERRORS[code].code_n), error
    assert response.status_code == ERRORS[code].http_status
    assert error["Message"]
    assert "Result" not in payload
    assert payload["ResponseMetadata"]["Service"] == "imagex"
    assert not DetectionTask.objects.exists()
    assert not UsageRecord.objects.exists()
    return payload


@pytest.mark.parametrize("case", list(BAD_DETECTION), ids=list(BAD_DETECTION))
def test_bad_detection_request(api, few_urls, case: str) -> None:
    service_id, payload, kwargs, code = BAD_DETECTION[case]
    response = api.detect(payload, service_id=service_id, **kwargs)
    metadata = assert_refused(response, code)["ResponseMetadata"]
    assert metadata["Action"] == "GetImageDuplicateDetection"
    assert metadata["Version"] == VERSION
    assert len(metadata["RequestId"]) == 32


BAD_ROUTES = {
    "no Action": ("POST", {"Version": VERSION}, "MissingParameter"),
    "no Version": ("POST", {"Action": "GetImageDuplicateDetection"}, "MissingParameter"),
    "unknown Action": (
        "POST",
        {"Action": "DeleteImage", "Version": VERSION},
        "InvalidActionOrVersion",
    ),
    "old Version": (
        "POST",
        {"Action": "GetImageDuplicateDetection", "Version": "2023-05-01"},
        "InvalidActionOrVersion",
    ),
    "status by POST": (
        "POST",
        {"Action": "GetDedupTaskStatus", "Version": VERSION},
        "InvalidActionOrVersion",
    ),
    "PUT": ("PUT", DETECT, "InvalidActionOrVersion"),
    "status without TaskId": (
        "GET",
        {"Action": "GetDedupTaskStatus", "Version": VERSION},
        "MissingParameter",
    ),
    "unknown TaskId": (
        "GET",
        {"Action": "GetDedupTaskStatus", "Version": VERSION, "TaskId": "f" * 32},
        "TaskNotFound",
    ),
    "usage without ServiceId": (
        "GET",
        {"Action": "GetDedupUsage", "Version": VERSION},
        "MissingParameter",
    ),
    "usage bad StartTime": (
        "GET",
        {
            "Action": "GetDedupUsage",
            "Version": VERSION,
            "ServiceId": SERVICE_ID,
            "StartTime": "soon",
        },
        "InvalidParameter",
    ),
    "usage start after end": (
        "GET",
        {
            "Action": "GetDedupUsage",
            "Version": VERSION,
            "ServiceId": SERVICE_ID,
            "StartTime": "2026-11-02",
            "EndTime": "2026-11-01",
        },
        "InvalidParameter",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ROUTES), ids=list(BAD_ROUTES))
def test_bad_route(api, case: str) -> None:
    method, query, code = BAD_ROUTES[case]
    response = api.call(method, query, {"Urls": GOOD_URLS} if method != "GET" else None)
    assert_refused(response, code)


def test_error_body_is_exactly_the_volcengine_shape(api) -> None:
    response = api.detect({"Urls": []})
    payload = json.loads(response.content)
    assert list(payload) == ["ResponseMetadata"]
    assert set(payload["ResponseMetadata"]) == {
        "RequestId",
        "Action",
        "Version",
        "Service",
        "Region",
        "Error",
    }
    assert set(payload["ResponseMetadata"]["Error"]) == {"CodeN", "Code", "Message"}
    assert response["Content-Type"] == "application/json"


def test_oversized_body_is_refused(api, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert_refused(
        api.detect({"Urls": [f"https://img.example.com/{i}.jpg" for i in range(60)]}),
        "RequestEntityTooLarge",
    )
