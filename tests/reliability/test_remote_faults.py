"""The remote (imagex) backend against a misbehaving veImageX: a loopback fake answering 5xx,
too slowly (beyond the client's TIMEOUT) and 429 FlowLimitExceeded. The client retries with
exponential backoff; when the faults persist the check's DetectionTask is failed, the error is
raised for django-q2 to retry the check later, and no group changes. When the service recovers
within the retries, the check succeeds with a single group."""

from __future__ import annotations

import itertools

import pytest
from django.test import override_settings

from imagex_dedup.hook.tasks import check_object
from imagex_dedup.models import DetectionTask, DuplicateGroup, DuplicateGroupMember
from imagex_dedup.volc.client import ImageXAPIError
from tests.backends.conftest import imagex_settings
from tests.reliability.conftest import FakeImageX, error_body

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

THROTTLED = (429, error_body("FlowLimitExceeded", 100018))
UNAVAILABLE = (503, error_body("ServiceUnavailable", 100014))
# Lower bounds of the client's backoff before retries 1, 2, 3 (0.5 s * 2**n, half jittered).
MIN_BACKOFF = [0.25, 0.5, 1.0]


def settings_for(fake: FakeImageX) -> dict:
    return imagex_settings(ENDPOINT=fake.url, TIMEOUT=0.5, RATE_LIMIT=1000)


def check(photo) -> None:
    check_object("testapp", "photo", str(photo.pk), "image")


def gaps(arrivals: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(arrivals)]


def test_persistent_5xx_timeout_and_throttling_fail_the_task_and_change_no_group(
    make_photo,
    fake_imagex: FakeImageX,
) -> None:
    make_photo("flower.jpg", "jpeg_q50")
    photo, _ = make_photo("flower.jpg")
    fake_imagex.reply(*UNAVAILABLE)
    fake_imagex.reply(200, {}, delay=1.5)  # beyond TIMEOUT: a client-side timeout
    fake_imagex.reply(*THROTTLED)
    fake_imagex.reply(500, error_body("InternalError", 100014))

    with (
        override_settings(IMAGEX_DEDUP=settings_for(fake_imagex)),
        pytest.raises(ImageXAPIError) as raised,
    ):
        check(photo)

    assert raised.value.http_status == 500 and raised.value.retryable
    assert len(fake_imagex.arrivals) == 4  # the first try and 3 retries
    assert all(gap >= floor for gap, floor in zip(gaps(fake_imagex.arrivals), MIN_BACKOFF))
    task = DetectionTask.objects.get(kind=DetectionTask.Kind.REMOTE)
    assert task.status == DetectionTask.Status.FAILED
    assert task.result["Error"]["Code"] == "InternalError"
    assert task.finished_at is not None
    assert not DuplicateGroup.objects.exists()
    assert not DuplicateGroupMember.objects.exists()


def test_faults_within_the_retries_end_in_one_group(
    make_photo,
    fake_imagex: FakeImageX,
) -> None:
    _, other = make_photo("flower.jpg", "jpeg_q50")
    photo, _ = make_photo("flower.jpg")
    base = "http://host.test/media/"
    fake_imagex.reply(*THROTTLED)
    fake_imagex.reply(200, {}, delay=1.5)
    fake_imagex.reply(*UNAVAILABLE)

    with override_settings(IMAGEX_DEDUP=settings_for(fake_imagex)):
        subject = photo.image.name
        urls = [base + subject, base + other.file_name]
        answer = {
            "ResponseMetadata": {"RequestId": "ok"},
            "Result": {"Score": "0.97", "Groups": {"group0": urls}},
        }
        fake_imagex.reply(200, answer)
        check(photo)
        fake_imagex.reply(200, answer)
        check(photo)  # a re-run of the same check (queue retry) changes nothing

    assert len(fake_imagex.arrivals) == 5
    group = DuplicateGroup.objects.get()
    refs = sorted(group.members.values_list("object_id", flat=True))
    assert refs == sorted([str(photo.pk), other.object_id])
    tasks = DetectionTask.objects.filter(kind=DetectionTask.Kind.REMOTE).order_by("created_at")
    assert [t.status for t in tasks] == [DetectionTask.Status.SUCCESS] * 2
