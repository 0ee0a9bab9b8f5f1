"""GetImageDuplicateDetection (sync and async in django-q2 sync mode), GetDedupTaskStatus,
GetDedupUsage: over the Django test client, with real images fetched from a loopback server."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_q.models import Schedule

from imagex_dedup import callback_signing
from imagex_dedup.models import CallbackAttempt, DetectionService, DetectionTask, UsageRecord
from imagex_dedup.service.tasks import deliver_callback
from tests.service.conftest import AK, CALLBACK_SECRET, SERVICE_ID, VERSION, ServiceClient


def ok(response) -> dict:
    payload = response.json()
    assert response.status_code == 200, payload
    assert "Error" not in payload["ResponseMetadata"]
    return payload["Result"]


def test_two_near_duplicates_score_and_group(api, photo_base) -> None:
    urls = [f"{photo_base}/flower.jpg", f"{photo_base}/flower_small.jpg"]
    result = ok(api.detect({"Urls": urls}))
    assert list(result) == ["Score", "Groups", "FailedUrls"]
    assert isinstance(result["Score"], str)
    assert float(result["Score"]) >= 0.84
    assert result["Groups"] == {"group0": urls}
    assert result["FailedUrls"] == []
    record = UsageRecord.objects.get()
    assert (record.image_count, record.access_key_id, record.action) == (
        2,
        AK,
        "GetImageDuplicateDetection",
    )


def test_two_different_pictures_score_without_group(api, photo_base) -> None:
    urls = [f"{photo_base}/flower.jpg", f"{photo_base}/iss.jpg"]
    result = ok(api.detect({"Urls": urls}))
    assert float(result["Score"]) < 0.84
    assert result["Groups"] == {}
    low = float(result["Score"])
    assert ok(api.detect({"Urls": urls, "Similarity": low}))["Groups"] == {"group0": urls}


def test_mixed_batch_groups_each_picture_and_no_score(api, photo_base) -> None:
    names = ["card.png", "flower.jpg", "iss.jpg", "flower_bright.png", "card_flip.jpg"]
    names.append("flower_small.jpg")
    urls = [f"{photo_base}/{name}" for name in names]
    result = ok(api.detect({"Urls": urls, "Similarity": 0.84}))
    assert "Score" not in result
    assert result["Groups"] == {
        "group0": [urls[0], urls[4]],
        "group1": [urls[1], urls[3], urls[5]],
    }


def test_the_same_url_twice_is_one_picture(api, photo_base) -> None:
    urls = [f"{photo_base}/card.png"] * 2
    assert ok(api.detect({"Urls": urls})) == {
        "Score": "1.0",
        "Groups": {"group0": urls},
        "FailedUrls": [],
    }


def test_failed_urls_are_listed_and_the_rest_grouped(api, photo_base) -> None:
    good = [f"{photo_base}/flower.jpg", f"{photo_base}/flower_small.jpg"]
    bad = [f"{photo_base}/broken.jpg", f"{photo_base}/notes.txt", f"{photo_base}/missing.jpg"]
    result = ok(api.detect({"Urls": [bad[0], *good, *bad[1:]]}))
    assert result["Groups"] == {"group0": good}
    assert [(f["Url"], f["Code"]) for f in result["FailedUrls"]] == [
        (bad[0], "Corrupt"),
        (bad[1], "BadContentType"),
        (bad[2], "HttpError"),
    ]
    assert all(f["Message"] for f in result["FailedUrls"])
    assert "Score" not in result  # four URLs
    assert UsageRecord.objects.get().image_count == 5


def test_every_url_failing_is_still_an_answer(api, photo_base) -> None:
    urls = [f"{photo_base}/broken.jpg", f"{photo_base}/missing.jpg"]
    result = ok(api.detect({"Urls": urls}))
    assert result == {
        "Groups": {},
        "FailedUrls": [
            {"Url": urls[0], "Code": "Corrupt", "Message": result["FailedUrls"][0]["Message"]},
            {"Url": urls[1], "Code": "HttpError", "Message": result["FailedUrls"][1]["Message"]},
        ],
    }
    assert UsageRecord.objects.get().image_count == 2


def test_failure_messages_are_plain_words(api) -> None:
    # Port 9 (discard) on loopback: nobody listens. The message once read
    # "... _GuardedHTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded ...".
    url = "http://127.0.0.1:9/a.jpg"
    result = ok(api.detect({"Urls": [url]}))
    assert result["FailedUrls"] == [
        {"Url": url, "Code": "ConnectionError", "Message": "connection refused"}
    ]


def test_loopback_refused_per_url_without_allow_private(api, service, photo_base, settings) -> None:
    # The site's FETCH_ALLOW_PRIVATE covers the site's own downloads, never a service's.
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "FETCH_ALLOW_PRIVATE": True}
    service.allow_private_urls = False
    service.save()
    urls = [f"{photo_base}/flower.jpg", f"{photo_base}/flower_small.jpg"]
    result = ok(api.detect({"Urls": urls}))
    assert result["Groups"] == {}
    assert [(f["Url"], f["Code"]) for f in result["FailedUrls"]] == [(u, "UnsafeUrl") for u in urls]


def test_allowed_hosts_refuse_other_hosts(api, service, photo_base) -> None:
    service.allowed_url_hosts = ["*.example.com", "localhost"]
    service.save()
    result = ok(api.detect({"Urls": [f"{photo_base}/flower.jpg"]}))
    assert result["FailedUrls"][0]["Code"] == "UnsafeUrl"
    assert "allowed hosts" in result["FailedUrls"][0]["Message"]


def test_real_client_quirks_are_tolerated(api, photo_base) -> None:
    urls = [f"{photo_base}/card.png", f"{photo_base}/card_flip.jpg"]
    body = {"Urls": urls, "ServiceId": SERVICE_ID, "Async": False, "Callback": ""}
    hashed = ok(api.detect({**body, "ExtractorType": "hash"}, service_id=None))
    cnn = ok(api.detect({**body, "ExtractorType": "cnn"}, service_id=None))
    assert hashed == cnn
    assert hashed["Groups"] == {"group0": urls}
    assert not DetectionTask.objects.exists()


def test_similarity_comes_from_the_request_then_the_service(api, service, photo_base) -> None:
    urls = [f"{photo_base}/flower.jpg", f"{photo_base}/flower_small.jpg"]
    result = ok(api.detect({"Urls": urls}))
    score = Decimal(result["Score"])
    assert result["Groups"] == {"group0": urls}  # the service default, 0.84
    # The shown score reaches a threshold exactly when the pair is grouped at it.
    assert ok(api.detect({"Urls": urls, "Similarity": float(score)}))["Groups"] == {"group0": urls}
    above = float(score + Decimal("0.01"))
    assert ok(api.detect({"Urls": urls, "Similarity": above}))["Groups"] == {}
    service.default_similarity = score + Decimal("0.01")
    service.save()
    assert ok(api.detect({"Urls": urls}))["Groups"] == {}
    assert ok(api.detect({"Urls": urls, "Similarity": float(score)}))["Groups"] == {"group0": urls}


def test_time_budget_gives_request_timeout(api, photo_base, settings) -> None:
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "SYNC_TIME_BUDGET": 0.000001}
    response = api.detect({"Urls": [f"{photo_base}/flower.jpg"]})
    error = response.json()["ResponseMetadata"]["Error"]
    assert (response.status_code, error["Code"], error["CodeN"]) == (504, "RequestTimeout", 700005)
    assert not UsageRecord.objects.exists()


# --- async, with django-q2 in sync mode --------------------------------------------------------


def start_async(api, urls, callback_url, django_capture_on_commit_callbacks) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        result = ok(api.detect({"Urls": urls, "Async": True, "Callback": callback_url}))
    assert list(result) == ["TaskId", "Callback"]
    assert result["Callback"] == callback_url
    return result["TaskId"]


def test_async_runs_calls_back_signed_and_polls(
    api, photo_base, receiver, django_capture_on_commit_callbacks
) -> None:
    urls = [f"{photo_base}/flower.jpg", f"{photo_base}/flower_small.jpg", f"{photo_base}/x.jpg"]
    task_id = start_async(api, urls, receiver.url, django_capture_on_commit_callbacks)
    receiver.wait(1)
    headers, raw = receiver.received[0]
    callback_signing.verify(CALLBACK_SECRET, raw, headers[callback_signing.HEADER])
    sent = json.loads(raw)
    assert sent["Status"] == 1
    assert sent["TaskId"] == task_id
    assert sent["Result"]["Groups"] == {"group0": urls[:2]}
    assert [f["Code"] for f in sent["Result"]["FailedUrls"]] == ["HttpError"]

    task = DetectionTask.objects.get(task_id=task_id)
    assert (task.kind, task.status, task.callback_url) == ("service", 1, receiver.url)
    assert task.request["Similarity"] == "0.84"
    assert task.callback_delivered_at is not None
    attempt = CallbackAttempt.objects.get(task=task)
    assert (attempt.direction, attempt.attempt, attempt.status_code, attempt.error) == (
        "out",
        1,
        200,
        "",
    )
    assert UsageRecord.objects.get().image_count == 3

    status = ok(api.status(task_id))
    assert status["Status"] == 1
    assert status["TaskId"] == task_id
    assert status["Result"] == sent["Result"]
    assert status["Groups"] == sent["Result"]["Groups"]  # flat, as newer SDKs read it


def test_callback_retries_with_backoff_as_schedules(
    api, photo_base, receiver, django_capture_on_commit_callbacks, settings
) -> None:
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "CALLBACK_BACKOFF": 3.0}
    for status in (500, 503):
        receiver.answers.put(status)
    before = timezone.now()
    task_id = start_async(
        api, [f"{photo_base}/card.png"], receiver.url, django_capture_on_commit_callbacks
    )
    after = timezone.now()
    for attempt, delay in ((2, 3), (3, 6)):
        schedule = Schedule.objects.get()
        assert schedule.func == "imagex_dedup.service.tasks.deliver_callback"
        assert schedule.args == repr((task_id, attempt))
        assert schedule.schedule_type == Schedule.ONCE
        backoff = timedelta(seconds=delay)  # from the failed attempt, however slow the machine
        assert before + backoff <= schedule.next_run <= after + backoff
        schedule.delete()
        before = timezone.now()
        deliver_callback(task_id, attempt)  # what the django-q2 scheduler would run
        after = timezone.now()
    assert not Schedule.objects.exists()
    attempts = list(CallbackAttempt.objects.values_list("attempt", "status_code", "error"))
    assert attempts == [(1, 500, "HTTP 500"), (2, 503, "HTTP 503"), (3, 200, "")]
    assert len(receiver.received) == 3
    assert DetectionTask.objects.get().callback_delivered_at is not None
    deliver_callback(task_id, 4)  # a late duplicate does nothing
    assert len(receiver.received) == 3


def test_callback_gives_up_after_max_attempts(
    api, photo_base, receiver, django_capture_on_commit_callbacks, settings
) -> None:
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "CALLBACK_MAX_ATTEMPTS": 2}
    for _ in range(2):
        receiver.answers.put(500)
    task_id = start_async(
        api, [f"{photo_base}/card.png"], receiver.url, django_capture_on_commit_callbacks
    )
    Schedule.objects.all().delete()
    deliver_callback(task_id, 2)
    assert not Schedule.objects.exists()
    assert CallbackAttempt.objects.count() == 2
    assert DetectionTask.objects.get().callback_delivered_at is None


def test_private_callback_refused_unless_the_service_allows(api, service, receiver) -> None:
    service.allow_private_urls = False
    service.save()
    body = {"Urls": ["https://img.example.com/a.jpg"], "Async": True, "Callback": receiver.url}
    response = api.detect(body)
    error = response.json()["ResponseMetadata"]["Error"]
    assert (response.status_code, error["Code"]) == (400, "InvalidParameter")
    assert "Callback" in error["Message"]
    assert not DetectionTask.objects.exists()
    assert not UsageRecord.objects.exists()


def test_callback_turned_unsafe_is_not_retried(
    api, service, photo_base, receiver, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = ok(
            api.detect(
                {"Urls": [f"{photo_base}/card.png"], "Async": True, "Callback": receiver.url}
            )
        )
    DetectionService.objects.filter(pk=service.pk).update(allow_private_urls=False)
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    task = DetectionTask.objects.get(task_id=result["TaskId"])
    assert task.status == 1
    assert task.result["FailedUrls"][0]["Code"] == "UnsafeUrl"
    attempt = CallbackAttempt.objects.get()
    assert attempt.status_code is None
    assert attempt.error.startswith("UnsafeUrl")
    assert not Schedule.objects.exists()
    assert receiver.received == []


# --- polling and usage -----------------------------------------------------------------------


def test_status_of_a_running_and_a_failed_task(api, service) -> None:
    running = DetectionTask.objects.create(kind="service", service=service)
    status = ok(api.status(running.task_id))
    assert status == {
        "Groups": {},
        "Status": 0,
        "TaskId": running.task_id,
        "Result": {"Groups": {}},
    }
    failed = DetectionTask.objects.create(
        kind="service",
        service=service,
        status=2,
        result={"Groups": {}, "Error": {"Code": "RequestTimeout", "Message": "late"}},
    )
    status = ok(api.status(failed.task_id))
    assert status["Status"] == 2
    assert status["Error"] == {"Code": "RequestTimeout", "Message": "late"}
    assert status["Result"] == {"Groups": {}}


def test_legacy_sdk_polls_with_the_detection_action(api, service) -> None:
    task = DetectionTask.objects.create(kind="service", service=service, status=1, result={})
    query = {"Action": "GetImageDuplicateDetection", "Version": VERSION, "TaskId": task.task_id}
    response = api.call("GET", query)
    assert ok(response)["TaskId"] == task.task_id
    assert response.json()["ResponseMetadata"]["Action"] == "GetImageDuplicateDetection"


def test_usage_counts_images_per_day(api, service, photo_base) -> None:
    ok(api.detect({"Urls": [f"{photo_base}/card.png", f"{photo_base}/iss.jpg"]}))
    ok(api.detect({"Urls": [f"{photo_base}/card.png"] * 3}))
    api.detect({"Urls": []})  # refused: not metered
    old = UsageRecord.objects.create(service=service, action="GetImageDuplicateDetection")
    old.created_at = timezone.now() - timedelta(days=40)
    old.image_count = 7
    old.save()
    query = {"Action": "GetDedupUsage", "Version": VERSION, "ServiceId": SERVICE_ID}
    usage = ok(api.call("GET", query))
    today = timezone.now().date().isoformat()
    assert usage["ServiceId"] == SERVICE_ID
    assert (usage["Requests"], usage["Images"]) == (2, 5)
    assert usage["Daily"] == [{"Date": today, "Requests": 2, "Images": 5}]
    since = (timezone.now() - timedelta(days=60)).date().isoformat()
    usage = ok(api.call("GET", {**query, "StartTime": since}))
    assert (usage["Requests"], usage["Images"]) == (3, 12)


@pytest.mark.parametrize("debug", [False, True])
def test_a_signed_post_without_the_trailing_slash_is_served(
    client, service, photo_base, settings, debug
) -> None:
    """``urls.mount`` answers at ``/imagex`` too: no 301 turning the POST into a GET, and no
    DEBUG RuntimeError from APPEND_SLASH."""
    settings.DEBUG = debug
    urls = [f"{photo_base}/card.png", f"{photo_base}/card_flip.jpg"]
    response = ServiceClient(client, path="/imagex").detect({"Urls": urls})
    assert response.status_code == 200
    assert ok(response)["Groups"] == {"group0": urls}
