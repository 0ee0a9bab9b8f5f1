"""The inbound callback view: every rule, each checking the status code and what changed."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory, override_settings

from imagex_dedup import callback_signing
from imagex_dedup.backends import tokens
from imagex_dedup.models import (
    CallbackAttempt,
    DetectionService,
    DetectionTask,
    DuplicateGroup,
    DuplicateGroupMember,
)
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db

URLS = ["https://cdn.test/a.jpg", "https://cdn.test/b.jpg"]
RESULT = {"Score": "0.97", "Groups": {"group0": URLS}}


def photo_refs() -> dict[str, str]:
    """The URLs sent, mapped to refs of Photo objects 1 and 2 (content type ids vary per DB)."""
    content_type_id = ContentType.objects.get_for_model(Photo).pk
    return {url: f"{content_type_id}:{n}:image" for n, url in enumerate(URLS, 1)}


@pytest.fixture
def task() -> DetectionTask:
    return DetectionTask.objects.create(
        kind=DetectionTask.Kind.REMOTE,
        backend="imagex",
        remote_task_id="remote-42",
        request={"Urls": URLS, "Refs": photo_refs(), "Similarity": 0.84},
    )


def url_of(task: DetectionTask, token: str | None = None) -> str:
    token = tokens.make_token(task.task_id) if token is None else token
    return f"/imagex/callback/{task.task_id}/?token={token}"


def post(client: Client, url: str, body: object, **headers: str):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(url, data=data, content_type="application/json", headers=headers)


def body(status: int = 1, task_id: str = "remote-42", result: object = RESULT) -> dict:
    return {"Status": status, "TaskId": task_id, "Result": result}


def state(task: DetectionTask) -> tuple:
    task.refresh_from_db()
    return (
        task.status,
        task.result,
        task.error,
        DuplicateGroup.objects.count(),
        DuplicateGroupMember.objects.count(),
    )


def attempts(task: DetectionTask) -> list[tuple[str, int, str]]:
    return list(task.callbacks.values_list("direction", "status_code", "error"))


def test_success_applies_the_result_once(client: Client, task: DetectionTask) -> None:
    csrf_client = Client(enforce_csrf_checks=True)
    response = post(csrf_client, url_of(task), body())
    assert response.status_code == 200
    group = DuplicateGroup.objects.get()
    assert response.json() == {"status": "applied", "groups": [group.pk]}
    assert sorted(group.members.values_list("object_id", flat=True)) == ["1", "2"]
    assert state(task)[:3] == (DetectionTask.Status.SUCCESS, RESULT, "")
    assert attempts(task) == [(CallbackAttempt.Direction.INBOUND, 200, "")]

    before = state(task)
    replay = post(client, url_of(task), body(result={"Groups": {"g": [URLS[0]]}}))
    assert replay.status_code == 200
    assert replay.json() == {"status": "already applied"}
    assert state(task) == before
    assert [a[1:] for a in attempts(task)] == [(200, ""), (200, "already applied")]


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "1700000000:forged", "__other_task__"],
)
def test_bad_or_missing_token_is_403_and_records_nothing(client, task, token) -> None:
    if token == "__other_task__":
        token = tokens.make_token("another-task")
    before = state(task)
    url = url_of(task, token) if token else f"/imagex/callback/{task.task_id}/"
    response = post(client, url, body())
    assert response.status_code == 403
    assert state(task) == before
    assert attempts(task) == []


def test_expired_token_is_403(client, task) -> None:
    url = url_of(task)
    before = state(task)
    with override_settings(IMAGEX_DEDUP={"CALLBACK_TOKEN_MAX_AGE": -1}):
        response = post(client, url, body())
    assert response.status_code == 403
    assert state(task) == before


def test_unknown_task_is_404(client) -> None:
    token = tokens.make_token("0" * 32)
    response = post(client, f"/imagex/callback/{'0' * 32}/?token={token}", body())
    assert response.status_code == 404
    service_task = DetectionTask.objects.create(kind=DetectionTask.Kind.SERVICE)
    response = post(client, url_of(service_task), body(task_id=service_task.task_id))
    assert response.status_code == 404
    assert not CallbackAttempt.objects.exists()
    assert service_task.status == DetectionTask.Status.RUNNING


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json{", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ([1, 2], "JSON object"),
        ({"TaskId": "remote-42", "Result": RESULT}, "missing keys: Status"),
        ({"Status": 1, "Result": RESULT}, "missing keys: TaskId"),
        (body(status=3), "Status must be"),
        (body(status=True), "Status must be"),  # type: ignore[arg-type]
        (body(status="1"), "Status must be"),  # type: ignore[arg-type]
        (body(task_id="someone-else"), "TaskId does not match"),
        (body(result=None), "needs a Result"),
        (body(result={"Groups": {"g": "not-a-list"}}), "needs a Result"),
        (body(result={"Groups": {"g": [1, 2]}}), "needs a Result"),
    ],
)
def test_bad_body_is_400_and_changes_nothing(client, task, payload, message) -> None:
    before = state(task)
    response = post(client, url_of(task), payload)
    assert response.status_code == 400
    assert message in response.json()["status"]
    assert state(task) == before
    assert [a[1] for a in attempts(task)] == [400]


def test_task_id_is_ours_when_the_backend_gave_none(client, task) -> None:
    task.remote_task_id = ""
    task.save()
    assert post(client, url_of(task), body(task_id="remote-42")).status_code == 400
    assert post(client, url_of(task), body(task_id=task.task_id)).status_code == 200


def test_oversized_body_is_413(client, task) -> None:
    before = state(task)
    with override_settings(IMAGEX_DEDUP={"CALLBACK_MAX_BODY_BYTES": 64}):
        response = post(client, url_of(task), body())
    assert response.status_code == 413
    assert state(task) == before
    assert [a[1] for a in attempts(task)] == [413]


def test_status_0_notes_progress(client, task) -> None:
    before = state(task)
    response = post(client, url_of(task), body(status=0, result={}))
    assert (response.status_code, response.json()) == (200, {"status": "running"})
    assert state(task) == before
    assert [a[1] for a in attempts(task)] == [200]


def test_status_2_marks_the_task_failed(client, task) -> None:
    response = post(client, url_of(task), {"Status": 2, "TaskId": "remote-42", "Error": "boom"})
    assert (response.status_code, response.json()) == (200, {"status": "failed"})
    task.refresh_from_db()
    assert (task.status, task.error) == (DetectionTask.Status.FAILED, "boom")
    assert task.finished_at is not None
    assert not DuplicateGroup.objects.exists()
    assert post(client, url_of(task), body()).json() == {"status": "already applied"}


def test_get_is_not_allowed(client, task) -> None:
    assert client.get(url_of(task)).status_code == 405


@pytest.fixture
def signed_task(task: DetectionTask) -> DetectionTask:
    task.service = DetectionService.objects.create(service_id="svc", callback_secret="s3cret")
    task.save()
    return task


def test_signature_header_is_verified_when_the_service_has_a_secret(client, signed_task) -> None:
    data = json.dumps(body()).encode()
    before = state(signed_task)
    forged = callback_signing.sign("wrong", data)
    response = post(client, url_of(signed_task), data, **{callback_signing.HEADER: forged})
    assert response.status_code == 403
    assert state(signed_task) == before
    good = callback_signing.sign("s3cret", data)
    response = post(client, url_of(signed_task), data, **{callback_signing.HEADER: good})
    assert response.status_code == 200
    assert DuplicateGroup.objects.count() == 1


def test_without_a_signature_header_the_token_is_enough(client, signed_task) -> None:
    assert post(client, url_of(signed_task), body()).status_code == 200


def test_callback_url_uses_public_base_url_or_the_request(task) -> None:
    with override_settings(IMAGEX_DEDUP={"PUBLIC_BASE_URL": "https://example.org/"}):
        url = tokens.callback_url(task)
    assert url.startswith(f"https://example.org/imagex/callback/{task.task_id}/?token=")
    request = RequestFactory().get("/", HTTP_HOST="site.test")
    assert tokens.callback_url(task, request).startswith("http://site.test/imagex/callback/")
    with pytest.raises(ImproperlyConfigured):
        tokens.callback_url(task)
    (token,) = parse_qs(urlsplit(url).query)["token"]
    assert tokens.verify_token(task.task_id, token)
    assert not tokens.verify_token("other", token)


@pytest.mark.django_db(transaction=True)
def test_real_http_callback(live_server) -> None:
    task = DetectionTask.objects.create(
        kind=DetectionTask.Kind.REMOTE, backend="imagex", request={"Refs": photo_refs()}
    )
    with override_settings(IMAGEX_DEDUP={"PUBLIC_BASE_URL": live_server.url}):
        url = tokens.callback_url(task)
    response = requests.post(
        url, json={"Status": 1, "TaskId": task.task_id, "Result": RESULT}, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["status"] == "applied"
    assert DuplicateGroup.objects.get().members.count() == 2
    bad = requests.post(url + "x", json={}, timeout=10)
    assert bad.status_code == 403
