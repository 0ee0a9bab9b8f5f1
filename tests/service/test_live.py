"""End to end on loopback: a live server, a real qcluster child process, a real callback
receiver, a second server process, and the official ``volcengine`` SDK as the client."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from imagex_dedup import callback_signing
from imagex_dedup.models import CallbackAttempt, DetectionService, UsageRecord
from tests.service.conftest import (
    AK,
    CALLBACK_SECRET,
    SERVICE_ID,
    SK,
    VERSION,
    create_service,
    signed_headers,
    wait_for_delivery,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def live_service(transactional_db: None) -> DetectionService:
    return create_service()


def signed_call(
    base: str, method: str, query: dict[str, str], body: Any = None
) -> requests.Response:
    url = f"{base}/imagex/?{urlencode(query)}"
    raw = b"" if body is None else json.dumps(body).encode()
    content_type = None if body is None else "application/json"
    headers = signed_headers(method, url, raw, content_type)
    return requests.request(method, url, data=raw, headers=headers, timeout=60)


def sdk_client(module: str, cls: str, live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An SDK service object pointed at the live server's /imagex/ mount (the SDK's API table
    and host settings are module-level objects: patched for this test only)."""
    from volcengine.ApiInfo import ApiInfo

    service_cls = getattr(pytest.importorskip(module), cls)
    client = service_cls()
    info = client.service_info
    monkeypatch.setattr(info, "host", live_server.url.split("//", 1)[1])
    monkeypatch.setattr(info, "scheme", "http")
    monkeypatch.setattr(info.credentials, "ak", AK)
    monkeypatch.setattr(info.credentials, "sk", SK)
    client.api_info = {
        name: ApiInfo(api.method, "/imagex/", api.query, api.form, api.header)
        for name, api in client.api_info.items()
    }
    return client


def test_sdk_sync_async_and_polling(
    live_server, live_service, qcluster, receiver, photo_base, monkeypatch
) -> None:
    sdk = sdk_client(
        "volcengine.imagex.v2.imagex_service", "ImagexService", live_server, monkeypatch
    )
    urls = [f"{photo_base}/flower.jpg", f"{photo_base}/flower_bright.png"]

    sync = sdk.get_image_duplicate_detection({"ServiceId": SERVICE_ID}, {"Urls": urls})
    assert sync["ResponseMetadata"]["Action"] == "GetImageDuplicateDetection"
    assert sync["ResponseMetadata"]["Service"] == "imagex"
    assert sync["Result"]["Groups"] == {"group0": urls}
    assert float(sync["Result"]["Score"]) >= 0.84

    accepted = sdk.get_image_duplicate_detection(
        {"ServiceId": SERVICE_ID},
        {"Urls": [*urls, f"{photo_base}/iss.jpg"], "Async": True, "Callback": receiver.url},
    )
    task_id = accepted["Result"]["TaskId"]
    assert accepted["Result"]["Callback"] == receiver.url

    receiver.wait(1, timeout=90)
    headers, raw = receiver.received[0]
    callback_signing.verify(CALLBACK_SECRET, raw, headers[callback_signing.HEADER])
    assert json.loads(raw) == {
        "Status": 1,
        "TaskId": task_id,
        "Result": {"Groups": {"group0": urls}, "FailedUrls": []},
    }

    status = sdk.get_dedup_task_status({"TaskId": task_id})["Result"]
    assert (status["Status"], status["TaskId"], status["Groups"]) == (1, task_id, {"group0": urls})
    assert status["Result"]["Groups"] == {"group0": urls}

    legacy = sdk_client(
        "volcengine.imagex.ImageXService", "ImageXService", live_server, monkeypatch
    )
    polled = legacy.get_image_duplicate_task_status({"TaskId": task_id})
    assert polled["Result"]["Status"] == 1
    # The legacy SDK sends ServiceId in the query and in the JSON body.
    legacy_sync = legacy.get_image_duplicate_detection({"ServiceId": SERVICE_ID, "Urls": urls})
    assert legacy_sync["Result"]["Groups"] == {"group0": urls}

    with pytest.raises(Exception, match="InvalidParameter"):
        sdk.get_image_duplicate_detection({"ServiceId": SERVICE_ID}, {"Urls": ["ftp://x/y.jpg"]})
    with pytest.raises(Exception, match="SignatureDoesNotMatch"):
        monkeypatch.setattr(sdk.service_info.credentials, "sk", "wrong")
        sdk.get_dedup_task_status({"TaskId": task_id})


def test_callback_retry_survives_in_the_database_and_runs_from_the_scheduler(
    live_server, live_service, qcluster, receiver, photo_base
) -> None:
    receiver.answers.put(500)
    query = {"Action": "GetImageDuplicateDetection", "Version": VERSION, "ServiceId": SERVICE_ID}
    body = {"Urls": [f"{photo_base}/card.png"], "Async": True, "Callback": receiver.url}
    response = signed_call(live_server.url, "POST", query, body)
    assert response.status_code == 200, response.text
    task_id = response.json()["Result"]["TaskId"]
    receiver.wait(2, timeout=120)  # the retry waits for django-q2's scheduler tick (~30 s)
    wait_for_delivery(task_id)
    attempts = CallbackAttempt.objects.filter(task__task_id=task_id)
    assert list(attempts.values_list("attempt", "status_code")) == [(1, 500), (2, 200)]
    assert [json.loads(raw)["TaskId"] for _, raw in receiver.received] == [task_id, task_id]


def test_rate_limit_holds_across_server_processes(live_server, live_service, second_server) -> None:
    query = {"Action": "GetImageDuplicateDetection", "Version": VERSION, "ServiceId": SERVICE_ID}
    servers = [live_server.url, second_server]
    signed_call(
        second_server, "GET", {"Action": "GetDedupTaskStatus", "Version": VERSION}
    )  # warm up
    from django.core.cache import cache

    cache.clear()
    started = time.monotonic()
    responses = [signed_call(servers[i % 2], "POST", query, {"Urls": []}) for i in range(30)]
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"too slow to test a per-second limit: {elapsed:.2f} s"
    statuses = [response.status_code for response in responses]
    assert set(statuses) == {400, 429}  # 400: allowed (and refused as invalid), but counted
    # One bucket for both processes: 10 at once plus one per 0.1 s since the first request.
    # Two separate buckets would each allow that much (30 requests, all of them, here).
    assert statuses.count(400) <= 10 + int(elapsed / 0.1) + 1 < 30
    assert statuses[:10] == [400] * 10
    for server in (0, 1):  # each server refused some: they read the same budget
        refused = [r for i, r in enumerate(responses) if i % 2 == server and r.status_code == 429]
        assert refused
        error = refused[0].json()["ResponseMetadata"]["Error"]
        assert error["Code"] == "FlowLimitExceeded" and int(refused[0].headers["Retry-After"]) >= 1


def test_an_identical_sdk_call_0_3_s_later_is_honoured(
    live_server, live_service, photo_base, monkeypatch
) -> None:
    """The same call twice within one second of X-Date is signed identically by the SDK (a
    retry after a dropped connection is too): both are answered, as the cloud answers them."""
    sdk = sdk_client(
        "volcengine.imagex.v2.imagex_service", "ImagexService", live_server, monkeypatch
    )
    signatures: list[str] = []
    sdk.session.hooks["response"].append(
        lambda response, **kwargs: signatures.append(response.request.headers["Authorization"])
    )
    # X-Date has one-second resolution; pin the SDK's clock to one second, so a slow first call
    # cannot push the second into the next one.
    from volcengine.auth.SignerV4 import SignerV4

    x_date = SignerV4.get_current_format_date()
    monkeypatch.setattr(SignerV4, "get_current_format_date", staticmethod(lambda: x_date))
    urls = [f"{photo_base}/card.png", f"{photo_base}/card_flip.jpg"]
    replies = []
    for _ in range(2):
        replies.append(sdk.get_image_duplicate_detection({"ServiceId": SERVICE_ID}, {"Urls": urls}))
        time.sleep(0.3)
    assert signatures[0] == signatures[1]
    assert [reply["Result"]["Groups"] for reply in replies] == [{"group0": urls}] * 2
    assert UsageRecord.objects.count() == 2
