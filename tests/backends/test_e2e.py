"""End to end on loopback, no mocks: the imagex backend signs real HTTP requests to this app's
own service endpoint in pytest-django's live server (same test database), which fetches the
photos from the live server's media URLs; async results come back from a real qcluster child
process through the callback view."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings

from imagex_dedup.hook.tasks import check_object
from imagex_dedup.models import (
    AccessKey,
    CallbackAttempt,
    DetectionService,
    DetectionTask,
    DuplicateGroup,
    UsageRecord,
)
from tests.backends.conftest import AK, SERVICE_ID, SK, imagex_settings, picture
from tests.conftest import upload
from tests.service.conftest import qcluster  # noqa: F401  (a real django-q2 cluster)
from tests.testapp.models import Photo

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def remote(live_server: Any) -> Iterator[Callable[..., None]]:
    """The service side (a DetectionService and the backend's access key) and settings that
    point the imagex backend at the live server; call it to apply them (with overrides)."""
    service = DetectionService.objects.create(service_id=SERVICE_ID, allow_private_urls=True)
    AccessKey.objects.create(service=service, access_key_id=AK, secret_access_key=SK)
    overrides: list[Any] = []

    def configure(**options: Any) -> None:
        dedup = imagex_settings(
            public_base_url=live_server.url, ENDPOINT=f"{live_server.url}/imagex/", **options
        )
        dedup["ENABLED"] = dedup.pop("enabled", True)
        override = override_settings(IMAGEX_DEDUP=dedup, ROOT_URLCONF="tests.backends.urls")
        override.enable()
        overrides.append(override)

    yield configure
    for override in reversed(overrides):
        override.disable()


def save_photo(source: str, variant: str | None = None) -> Photo:
    name = f"{source.rsplit('.', 1)[0]}-{variant or 'orig'}.jpg"
    return Photo.objects.create(image=upload(name, picture(source, variant)))


def refs(*photos: Photo) -> set[str]:
    from django.contrib.contenttypes.models import ContentType

    content_type = ContentType.objects.get_for_model(Photo)
    return {f"{content_type.pk}:{photo.pk}:image" for photo in photos}


def group_refs(group: DuplicateGroup) -> set[str]:
    return {member.ref for member in group.members.all()}


def test_saving_photos_groups_them_through_the_remote_service(remote, live_server) -> None:
    remote()
    original = save_photo("flower.jpg")  # the hook checks it inline: nothing to compare yet
    save_photo("test-card.png")  # unrelated: below the candidate floor, never sent
    assert not DetectionTask.objects.exists()

    copy = save_photo("flower.jpg", "resize_jpeg")

    task = DetectionTask.objects.get(kind="remote")
    assert (task.status, task.backend, task.error) == (DetectionTask.Status.SUCCESS, "imagex", "")
    # The new image first, then its candidate: storage URLs made absolute on PUBLIC_BASE_URL.
    assert task.request["Urls"] == [
        f"{live_server.url}/media/{photo.image.name}" for photo in (copy, original)
    ]
    assert "Score" in task.result
    (group,) = DuplicateGroup.objects.all()
    assert group.backend == "imagex"
    assert group_refs(group) == refs(original, copy)
    # The service side authenticated the backend's access key and metered both images.
    usage = UsageRecord.objects.get()
    assert (usage.access_key_id, usage.image_count) == (AK, 2)


def test_wrong_secret_is_refused_by_the_server_signature_check(remote) -> None:
    remote(SECRET_ACCESS_KEY="not-the-secret")
    save_photo("flower.jpg")
    save_photo("flower.jpg", "jpeg_q50")

    task = DetectionTask.objects.get(kind="remote")
    assert task.status == DetectionTask.Status.FAILED
    assert task.result["Error"]["Code"] == "SignatureDoesNotMatch"
    assert task.result["Error"]["HttpStatus"] == 401
    assert not DuplicateGroup.objects.exists()
    assert not UsageRecord.objects.exists()


def test_async_check_comes_back_through_the_callback_view(remote, qcluster) -> None:  # noqa: F811
    # The hook is off: the qcluster child runs only the service's tasks, with its own settings.
    remote(enabled=False, ASYNC_THRESHOLD=2)
    original = save_photo("flower.jpg")
    bright = save_photo("flower.jpg", "brightness")
    copy = save_photo("flower.jpg", "jpeg_q50")
    for photo in (original, bright, copy):
        check_object("testapp", "photo", str(photo.pk), "image")

    # Only the third check had two candidates: three URLs, above ASYNC_THRESHOLD.
    sync_task, async_task = DetectionTask.objects.filter(kind="remote").order_by("created_at")
    assert len(sync_task.request["Urls"]) == 2 and sync_task.status == 1
    assert len(async_task.request["Urls"]) == 3
    assert async_task.remote_task_id
    service_task = DetectionTask.objects.get(kind="service")
    assert service_task.task_id == async_task.remote_task_id
    assert service_task.callback_url == async_task.callback_url

    deadline = time.monotonic() + 90
    while async_task.status == DetectionTask.Status.RUNNING:
        assert time.monotonic() < deadline, (qcluster.read_text())[-3000:]
        time.sleep(0.3)
        async_task.refresh_from_db()

    assert async_task.status == DetectionTask.Status.SUCCESS, async_task.error
    (group,) = DuplicateGroup.objects.all()
    assert group_refs(group) == refs(original, bright, copy)
    inbound = CallbackAttempt.objects.get(task=async_task, direction="in")
    assert inbound.status_code == 200
    outbound = CallbackAttempt.objects.filter(task=service_task, direction="out").last()
    assert outbound is not None and outbound.status_code == 200
