"""ImagexBackend over a fake transport (the only stand-in for the real veImageX endpoint):
candidate narrowing, batching, sync and async requests, the task records and error mapping."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from imagex_dedup import engine
from imagex_dedup.backends import get_backend
from imagex_dedup.backends.imagex import ImagexBackend, plan_batches
from imagex_dedup.backends.tokens import verify_token
from imagex_dedup.models import DetectionTask, DuplicateGroup, ImageFingerprint
from imagex_dedup.volc.client import ImageXAPIError
from tests.backends.conftest import SERVICE_ID, SK, MakePhoto, imagex_settings
from tests.volc.conftest import FakeTransport, err_payload, ok_payload, session_with

pytestmark = pytest.mark.django_db

FLOWER_VARIANTS = ["jpeg_q50", "resize_jpeg", "gamma", "border", "blur"]


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("imagex_dedup.volc.client.time.sleep", lambda seconds: None)


def run_check(record: ImageFingerprint, *script: Any, **imagex: Any) -> FakeTransport:
    transport = FakeTransport(*script)
    imagex.setdefault("RATE_LIMIT", 1000)
    with override_settings(IMAGEX_DEDUP=imagex_settings(**imagex)):
        ImagexBackend(session=session_with(transport)).check(record)
    return transport


def sent_urls(transport: FakeTransport) -> list[list[str]]:
    return [json.loads(request.body)["Urls"] for request in transport.requests]


def url_of(record: ImageFingerprint) -> str:
    return f"http://host.test/media/{record.file_name}"


def members(group: DuplicateGroup) -> set[str]:
    return {member.ref for member in group.members.all()}


def test_get_backend_names_the_imagex_backend() -> None:
    with override_settings(IMAGEX_DEDUP=imagex_settings()):
        assert isinstance(get_backend(), ImagexBackend)


def test_sends_the_new_image_and_the_top_k_candidates(make_photo: MakePhoto) -> None:
    stored = [make_photo("flower.jpg", variant)[1] for variant in FLOWER_VARIANTS]
    _, unrelated = make_photo("test-card.png")
    _, subject = make_photo("flower.jpg")
    by_score = sorted(
        stored,
        key=lambda r: -engine.compare(bytes(subject.fingerprint), bytes(r.fingerprint)),
    )
    best = by_score[:3]
    urls = [url_of(subject), *map(url_of, best)]
    transport = run_check(subject, (200, ok_payload({"Groups": {"group0": urls[:3]}})), TOP_K=3)

    (request,) = transport.requests
    assert parse_qs(urlsplit(request.url).query)["ServiceId"] == [SERVICE_ID]
    body = json.loads(request.body)
    assert body["Urls"][0] == url_of(subject)
    assert set(body["Urls"][1:]) == set(map(url_of, best))
    assert url_of(unrelated) not in body["Urls"]
    assert (body["Async"], body["Similarity"]) == (False, 0.84)

    task = DetectionTask.objects.get()
    assert (task.kind, task.backend, task.status) == ("remote", "imagex", 1)
    assert task.request["Refs"] == {url_of(r): r.ref for r in [subject, *best]}
    assert task.request["Subject"] == subject.ref
    group = DuplicateGroup.objects.get()
    assert group.backend == "imagex"
    assert members(group) == {subject.ref, best[0].ref, best[1].ref}


def test_candidate_floor_keeps_unrelated_images_out(make_photo: MakePhoto) -> None:
    make_photo("test-card.png")
    make_photo("iss634.webp")
    _, subject = make_photo("flower.jpg")

    transport = run_check(subject, TOP_K=20)

    assert transport.requests == []
    assert not DetectionTask.objects.exists()


def test_batches_repeat_the_new_image_and_merge_their_groups(make_photo: MakePhoto) -> None:
    stored = [make_photo("flower.jpg", variant)[1] for variant in FLOWER_VARIANTS]
    _, subject = make_photo("flower.jpg")
    answers = [(200, ok_payload({"Groups": {"group0": urls}})) for urls in ([], [], [])]
    transport = FakeTransport(*answers)

    def echo_all(request, **kwargs):  # every batch: all its URLs are duplicates
        body = json.loads(request.body)
        transport.script[0] = (200, ok_payload({"Groups": {"group0": body["Urls"]}}))
        return FakeTransport.send(transport, request, **kwargs)

    transport.send = echo_all  # type: ignore[method-assign]
    with override_settings(IMAGEX_DEDUP=imagex_settings(TOP_K=5, BATCH_SIZE=3, RATE_LIMIT=1000)):
        ImagexBackend(session=session_with(transport)).check(subject)

    batches = sent_urls(transport)
    assert [len(batch) for batch in batches] == [3, 3, 2]
    assert all(batch[0] == url_of(subject) for batch in batches)
    assert sorted(url for batch in batches for url in batch[1:]) == sorted(map(url_of, stored))
    assert DetectionTask.objects.filter(kind="remote", status=1).count() == 3
    (group,) = DuplicateGroup.objects.all()
    assert members(group) == {subject.ref, *(r.ref for r in stored)}


def test_plan_batches() -> None:
    assert plan_batches("s", ["a", "b", "c", "d"], 3) == [["s", "a", "b"], ["s", "c", "d"]]
    assert plan_batches("s", ["a"], 50) == [["s", "a"]]
    assert plan_batches("s", [], 50) == []


def test_large_check_goes_async_with_a_callback_and_the_callback_applies_it(
    make_photo: MakePhoto, client: Any
) -> None:
    _, first = make_photo("flower.jpg", "jpeg_q50")
    _, second = make_photo("flower.jpg", "gamma")
    _, subject = make_photo("flower.jpg")
    transport = run_check(
        subject,
        (200, ok_payload({"TaskId": "remote-1", "Callback": "echo"})),
        ASYNC_THRESHOLD=2,
    )

    body = json.loads(transport.requests[0].body)
    task = DetectionTask.objects.get()
    callback = body["Callback"]
    parts = urlsplit(callback)
    assert body["Async"] is True
    assert (parts.netloc, parts.path) == ("host.test", f"/imagex/callback/{task.task_id}/")
    assert verify_token(task.task_id, parse_qs(parts.query)["token"][0])
    assert (task.status, task.remote_task_id, task.callback_url) == (0, "remote-1", callback)
    assert not DuplicateGroup.objects.exists()

    payload = {"Status": 1, "TaskId": "remote-1", "Result": {"Groups": {"g": body["Urls"]}}}
    answer = client.post(
        f"{parts.path}?{parts.query}",
        json.dumps(payload),
        content_type="application/json",
    )

    assert answer.status_code == 200
    task.refresh_from_db()
    assert task.status == 1
    assert members(DuplicateGroup.objects.get()) == {subject.ref, first.ref, second.ref}


def test_service_refusal_fails_the_task_without_retry(make_photo: MakePhoto) -> None:
    make_photo("flower.jpg", "jpeg_q50")
    _, subject = make_photo("flower.jpg")

    transport = run_check(subject, (401, err_payload("SignatureDoesNotMatch", "bad signature")))

    assert len(transport.requests) == 1
    task = DetectionTask.objects.get()
    assert task.status == DetectionTask.Status.FAILED
    assert task.error == "SignatureDoesNotMatch: bad signature"
    assert task.result["Error"]["CodeN"] == 100010
    assert task.result["Error"]["HttpStatus"] == 401
    assert task.finished_at is not None
    assert not DuplicateGroup.objects.exists()


def test_persistent_server_errors_fail_the_task_and_raise_for_a_queue_retry(
    make_photo: MakePhoto,
) -> None:
    make_photo("flower.jpg", "jpeg_q50")
    _, subject = make_photo("flower.jpg")
    script = [(503, err_payload("ServiceUnavailable"))] * 4

    with pytest.raises(ImageXAPIError) as raised:
        run_check(subject, *script)

    assert raised.value.http_status == 503
    task = DetectionTask.objects.get()
    assert task.status == DetectionTask.Status.FAILED
    assert task.error.startswith("ServiceUnavailable")
    assert not DuplicateGroup.objects.exists()


def test_throttling_is_retried_by_the_client(make_photo: MakePhoto) -> None:
    _, other = make_photo("flower.jpg", "jpeg_q50")
    _, subject = make_photo("flower.jpg")
    urls = [url_of(subject), url_of(other)]

    transport = run_check(
        subject,
        (429, err_payload("FlowLimitExceeded")),
        (200, ok_payload({"Score": "0.97", "Groups": {"group0": urls}})),
    )

    assert len(transport.requests) == 2
    assert DetectionTask.objects.get().status == DetectionTask.Status.SUCCESS
    assert members(DuplicateGroup.objects.get()) == {subject.ref, other.ref}


def test_async_reply_without_task_id_fails_the_task(make_photo: MakePhoto) -> None:
    make_photo("flower.jpg", "jpeg_q50")
    _, subject = make_photo("flower.jpg")

    run_check(subject, (200, ok_payload({"Callback": "x"})), ASYNC_THRESHOLD=1)

    task = DetectionTask.objects.get()
    assert (task.status, task.result["Error"]["Code"]) == (2, "InvalidResponse")


def test_credentials_fall_back_to_the_sdk_environment(
    make_photo: MakePhoto, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_photo("flower.jpg", "jpeg_q50")
    _, subject = make_photo("flower.jpg")
    monkeypatch.setenv("VOLC_ACCESSKEY", "AKLTfromenv")
    monkeypatch.setenv("VOLC_SECRETKEY", "secret-from-env")

    transport = run_check(
        subject, (200, ok_payload({"Groups": {}})), ACCESS_KEY_ID="", SECRET_ACCESS_KEY=""
    )

    authorization = transport.requests[0].headers["Authorization"]
    assert "Credential=AKLTfromenv/" in authorization


@pytest.mark.parametrize("missing", ["ACCESS_KEY_ID", "SERVICE_ID"])
def test_missing_settings_are_a_configuration_error(
    make_photo: MakePhoto, missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VOLC_ACCESSKEY", raising=False)
    make_photo("flower.jpg", "jpeg_q50")
    _, subject = make_photo("flower.jpg")

    with pytest.raises(ImproperlyConfigured, match=missing):
        run_check(subject, **{missing: ""})
    assert not DetectionTask.objects.exists()


def test_secret_never_reaches_logs(make_photo: MakePhoto, caplog: pytest.LogCaptureFixture) -> None:
    make_photo("flower.jpg", "jpeg_q50")
    _, subject = make_photo("flower.jpg")
    with caplog.at_level("DEBUG", logger="imagex_dedup"):
        run_check(subject, (429, err_payload("FlowLimitExceeded")), (401, err_payload("X")))

    assert "FlowLimitExceeded" in caplog.text  # the retry and the refusal were logged
    assert "'Authorization': '<redacted>'" in caplog.text
    assert SK not in caplog.text
    assert "Signature=" not in caplog.text
