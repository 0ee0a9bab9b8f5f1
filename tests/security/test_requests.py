"""Hostile requests to the service: enormous bodies (refused with 413 before they are read),
replayed and tampered signatures; and forged or replayed inbound callbacks over real HTTP."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from imagex_dedup import callback_signing
from imagex_dedup.backends import tokens
from imagex_dedup.models import DetectionService, DetectionTask
from imagex_dedup.volc.signing import Credentials, sign_request
from tests.security.conftest import row_counts, volc_error
from tests.service.conftest import AK, SERVICE_ID, SK, VERSION

DETECT_QUERY = {"Action": "GetImageDuplicateDetection", "Version": VERSION, "ServiceId": SERVICE_ID}
EMPTY = {
    "DetectionTask": 0,
    "UsageRecord": 0,
    "DuplicateGroup": 0,
    "ImageFingerprint": 0,
    "CallbackAttempt": 0,
}


def signed(
    method: str, query: dict[str, str], body: bytes, *, host: str = "testserver", **kw: Any
) -> tuple[str, dict[str, str]]:
    """(path with query, signed headers) for a request to ``host``."""
    target = f"/imagex/?{urlencode(query)}"
    headers = {"Content-Type": "application/json"} if method == "POST" else {}
    return target, sign_request(
        method, f"http://{host}{target}", headers, body, Credentials(AK, SK), **kw
    )


def send(client: Any, method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
    headers = {k: v for k, v in headers.items() if k != "Content-Type"}
    extra = {"content_type": "application/json"} if method == "POST" else {}
    return client.generic(method, target, body, headers=headers, **extra)


def private_detection() -> bytes:
    """A valid request whose only URL the service refuses: honoured and billed, nothing fetched."""
    return json.dumps({"Urls": ["http://10.0.0.1/a.jpg"]}).encode()


# --- enormous bodies -----------------------------------------------------------------------------


def test_body_over_the_cap_is_413_before_authentication(client, public_service, settings) -> None:
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "SERVICE_MAX_BODY_BYTES": 1000}
    body = json.dumps({"Urls": [f"https://img.example.com/{i}.jpg" for i in range(100)]}).encode()
    target, headers = signed("POST", DETECT_QUERY, body)
    assert volc_error(send(client, "POST", target, headers, body)) == (
        413,
        "RequestEntityTooLarge",
    )
    assert row_counts() == EMPTY


def test_unsigned_oversized_body_is_413_too(client, public_service, settings) -> None:
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "SERVICE_MAX_BODY_BYTES": 1000}
    response = client.post(
        f"/imagex/?{urlencode(DETECT_QUERY)}", b"[" * 5000, content_type="application/json"
    )
    assert volc_error(response) == (413, "RequestEntityTooLarge")


def test_django_upload_limit_below_the_cap_is_413_as_well(client, public_service, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 500
    body = json.dumps({"Urls": [f"https://img.example.com/{i}.jpg" for i in range(100)]}).encode()
    target, headers = signed("POST", DETECT_QUERY, body)
    assert volc_error(send(client, "POST", target, headers, body)) == (
        413,
        "RequestEntityTooLarge",
    )
    assert row_counts() == EMPTY


def test_deeply_nested_json_under_the_cap_is_invalid_not_a_crash(client, public_service) -> None:
    body = b"[" * 100_000 + b"]" * 100_000  # RecursionError inside json.loads
    target, headers = signed("POST", DETECT_QUERY, body)
    status, code = volc_error(send(client, "POST", target, headers, body))
    assert (status, code) == (400, "InvalidParameter")
    assert row_counts() == EMPTY


@pytest.mark.django_db(transaction=True)
def test_huge_content_length_is_answered_without_reading_the_body(live_server) -> None:
    """Over a real socket: announce 1 GB, send 10 bytes, and get the 413 right away (the server
    would otherwise wait for the rest)."""
    DetectionService.objects.create(service_id=SERVICE_ID)
    host, port = urlsplit(live_server.url).hostname, urlsplit(live_server.url).port
    target = f"/imagex/?{urlencode(DETECT_QUERY)}"
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(
            f"POST {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n"
            '{"Urls": ['.encode()
        )
        sock.shutdown(socket.SHUT_WR)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"413", head
    assert json.loads(body)["ResponseMetadata"]["Error"]["Code"] == "RequestEntityTooLarge"


# --- replayed and tampered signatures ------------------------------------------------------------


def test_replayed_detection_is_refused_and_not_billed_twice(client, public_service) -> None:
    body = private_detection()
    target, headers = signed("POST", DETECT_QUERY, body)
    first = send(client, "POST", target, headers, body)
    assert first.status_code == 200, first.json()
    replay = send(client, "POST", target, headers, body)
    assert volc_error(replay) == (401, "SignatureReplayed")
    assert row_counts() == {**EMPTY, "UsageRecord": 1}


def test_replayed_async_detection_creates_one_task(
    client, loopback_service, hostile, django_capture_on_commit_callbacks
) -> None:
    body = json.dumps(
        {"Urls": [hostile.url("/flower.jpg")], "Async": True, "Callback": hostile.url("/cb")}
    ).encode()
    target, headers = signed("POST", DETECT_QUERY, body)
    with django_capture_on_commit_callbacks(execute=False):
        assert send(client, "POST", target, headers, body).status_code == 200
        assert volc_error(send(client, "POST", target, headers, body)) == (
            401,
            "SignatureReplayed",
        )
    assert row_counts() == {**EMPTY, "DetectionTask": 1, "UsageRecord": 1}


def test_a_refused_request_may_be_sent_again(client, public_service) -> None:
    """Only honoured signatures are spent: re-sending a refused request changes nothing."""
    body = json.dumps({"Urls": []}).encode()
    target, headers = signed("POST", DETECT_QUERY, body)
    for _ in range(2):
        assert volc_error(send(client, "POST", target, headers, body)) == (400, "InvalidParameter")
    assert row_counts() == EMPTY


def test_status_polls_with_the_same_signature_are_allowed(client, public_service) -> None:
    """Reads are idempotent, and an SDK polling twice in one second signs identically."""
    query = {"Action": "GetDedupTaskStatus", "Version": VERSION, "TaskId": "f" * 32}
    target, headers = signed("GET", query, b"")
    for _ in range(2):
        assert volc_error(send(client, "GET", target, headers, b"")) == (404, "TaskNotFound")


def test_identical_signed_posts_are_both_honoured_by_default(client, public_service, settings):
    """Off by default: a retry within the same second of X-Date carries the same signature."""
    from imagex_dedup.conf import DEFAULTS

    assert DEFAULTS["SIGNATURE_REJECT_REPLAYS"] is False
    settings.IMAGEX_DEDUP = {
        key: value
        for key, value in settings.IMAGEX_DEDUP.items()
        if key != "SIGNATURE_REJECT_REPLAYS"
    }
    body = private_detection()
    target, headers = signed("POST", DETECT_QUERY, body)
    for _ in range(2):
        assert send(client, "POST", target, headers, body).status_code == 200
    assert row_counts()["UsageRecord"] == 2


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("body", (401, "SignatureDoesNotMatch")),
        ("query", (401, "SignatureDoesNotMatch")),
        ("old", (400, "InvalidTimestamp")),
        ("future", (400, "InvalidTimestamp")),
        ("key", (401, "InvalidAccessKey")),
    ],
)
def test_tampered_signed_requests_are_refused(client, public_service, tamper, expected) -> None:
    body = private_detection()
    now = datetime.now(UTC)
    when = {"old": now - timedelta(hours=1), "future": now + timedelta(hours=1)}.get(tamper, now)
    target, headers = signed("POST", DETECT_QUERY, body, now=when)
    if tamper == "body":
        body = json.dumps({"Urls": ["http://10.0.0.2/b.jpg"]}).encode()
        headers.pop("X-Content-Sha256")  # else the body hash check answers first
    elif tamper == "query":
        target = target.replace(SERVICE_ID, SERVICE_ID + "x")
    elif tamper == "key":
        headers["Authorization"] = headers["Authorization"].replace(AK, "AKLTunknown")
    assert volc_error(send(client, "POST", target, headers, body)) == expected
    assert row_counts() == EMPTY


# --- forged and replayed inbound callbacks, over real HTTP --------------------------------------

SECRET = "inbound-secret"
URLS = ["https://cdn.test/a.jpg", "https://cdn.test/b.jpg"]


def refs() -> dict[str, str]:
    """The task's URL -> host ref map, on a real content type (the live server checks FKs)."""
    from django.contrib.contenttypes.models import ContentType

    from tests.testapp.models import Photo

    ct = ContentType.objects.get_for_model(Photo).pk
    return {url: f"{ct}:{n}:image" for n, url in enumerate(URLS, 1)}


def remote_task(remote_id: str = "remote-1") -> DetectionTask:
    service = DetectionService.objects.get_or_create(
        service_id="inbound", defaults={"callback_secret": SECRET}
    )[0]
    return DetectionTask.objects.create(
        kind=DetectionTask.Kind.REMOTE,
        backend="imagex",
        service=service,
        remote_task_id=remote_id,
        request={"Urls": URLS, "Refs": refs(), "Similarity": 0.84},
    )


def callback_body(task: DetectionTask, status: int = 1) -> bytes:
    result = {"Groups": {"group0": URLS}}
    return json.dumps({"Status": status, "TaskId": task.remote_task_id, "Result": result}).encode()


def post_callback(base: str, task_id: str, token: str, body: bytes, signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[callback_signing.HEADER] = signature
    url = f"{base}/imagex/callback/{task_id}/?token={token}"
    return requests.post(url, data=body, headers=headers, timeout=30)


@pytest.fixture
def callback_base(live_server: Any) -> str:
    return live_server.url


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "forgery",
    ["no token", "bad token", "other task's token", "bad signature", "other body's signature",
     "stale signature", "other secret"],
)  # fmt: skip
def test_forged_callbacks_are_403_and_change_nothing(callback_base, forgery) -> None:
    task, other = remote_task(), remote_task("remote-2")
    body = callback_body(task)
    token = tokens.make_token(task.task_id)
    signature: str | None = callback_signing.sign(SECRET, body)
    if forgery == "no token":
        token = ""
    elif forgery == "bad token":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif forgery == "other task's token":
        token = tokens.make_token(other.task_id)
    elif forgery == "bad signature":
        signature = "t=1,v1=" + "0" * 64
    elif forgery == "other body's signature":
        signature = callback_signing.sign(SECRET, callback_body(task, status=2))
    elif forgery == "stale signature":
        signature = callback_signing.sign(SECRET, body, int(time.time()) - 3600)
    elif forgery == "other secret":
        signature = callback_signing.sign("not-the-secret", body)
    response = post_callback(callback_base, task.task_id, token, body, signature)
    assert response.status_code == 403, response.text
    task.refresh_from_db()
    assert task.status == DetectionTask.Status.RUNNING
    assert row_counts() == {**EMPTY, "DetectionTask": 2}


@pytest.mark.django_db(transaction=True)
def test_replayed_callback_is_applied_once(callback_base) -> None:
    task = remote_task()
    body = callback_body(task)
    token = tokens.make_token(task.task_id)
    signature = callback_signing.sign(SECRET, body)
    first = post_callback(callback_base, task.task_id, token, body, signature)
    assert first.json()["status"] == "applied"
    after_first = row_counts()
    replay = post_callback(callback_base, task.task_id, token, body, signature)
    assert (replay.status_code, replay.json()) == (200, {"status": "already applied"})
    # A replayed failure cannot undo the success either.
    failure = callback_body(task, status=2)
    late = post_callback(
        callback_base, task.task_id, token, failure, callback_signing.sign(SECRET, failure)
    )
    assert late.json() == {"status": "already applied"}
    task.refresh_from_db()
    assert task.status == DetectionTask.Status.SUCCESS
    assert row_counts() == {**after_first, "CallbackAttempt": after_first["CallbackAttempt"] + 2}
    assert after_first["DuplicateGroup"] == 1


@pytest.mark.django_db(transaction=True)
def test_callback_for_another_task_body_is_400(callback_base) -> None:
    """A genuine, signed body captured for task B, posted to task A's URL with A's token."""
    task, other = remote_task(), remote_task("remote-2")
    body = callback_body(other)
    response = post_callback(
        callback_base,
        task.task_id,
        tokens.make_token(task.task_id),
        body,
        callback_signing.sign(SECRET, body),
    )
    assert response.status_code == 400
    assert row_counts()["DuplicateGroup"] == 0


# --- deep nesting everywhere JSON is read -------------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.django_db(transaction=True)
def test_deeply_nested_callback_body_is_400(callback_base) -> None:
    task = remote_task()
    response = post_callback(callback_base, task.task_id, tokens.make_token(task.task_id), DEEP,
                             None)  # fmt: skip
    assert response.status_code == 400
    task.refresh_from_db()
    assert task.status == DetectionTask.Status.RUNNING


def test_deeply_nested_rest_check_body_is_400(client, django_user_model) -> None:
    client.force_login(django_user_model.objects.create_user("nester", password="x"))
    response = client.post("/imagex/api/check/", DEEP, content_type="application/json")
    assert response.status_code == 400
