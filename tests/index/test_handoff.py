"""The save hook reuses the upload check's fingerprint: no second decode of the same upload."""

from __future__ import annotations

import logging

import pytest
from django.core.files.base import ContentFile

from imagex_dedup.index import handoff
from imagex_dedup.models import DuplicateGroup, ImageFingerprint
from imagex_dedup.upload import check_upload
from tests.support.hook import jpeg
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def decodes(monkeypatch) -> list[int]:
    """Counts the analyses (decodes) the save hook's task makes."""
    calls: list[int] = []
    real = handoff.analyse

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(handoff, "analyse", counting)
    return calls


def save_photo(title: str, data: bytes, capture) -> Photo:
    with capture(execute=True):  # the hook's check runs (django-q2 sync mode)
        photo = Photo(title=title)
        photo.image.save(f"{title}.jpg", ContentFile(data), save=True)
    return photo


def test_the_hook_takes_the_checked_fingerprint(
    library, near_copy, decodes, django_capture_on_commit_callbacks
):
    result = check_upload(near_copy, model=Photo)
    photo = save_photo("Copy", near_copy.read(), django_capture_on_commit_callbacks)
    record = ImageFingerprint.objects.get(object_id=str(photo.pk))
    assert decodes == []
    assert bytes(record.fingerprint) == result.analysis.fingerprint
    assert record.content_hash == result.analysis.content_hash and record.checked_at
    group = DuplicateGroup.objects.get()  # and the hook grouped it with the library photo
    assert {m.object_id for m in group.members.all()} == {str(photo.pk), str(library["flower"].pk)}


def test_other_bytes_are_decoded(library, near_copy, decodes, django_capture_on_commit_callbacks):
    check_upload(near_copy, model=Photo)
    data = jpeg("flower.jpg", scale=0.45, quality=71)  # bytes no other test checks
    photo = save_photo("Other", data, django_capture_on_commit_callbacks)
    assert decodes == [1]
    assert ImageFingerprint.objects.get(object_id=str(photo.pk)).fingerprint


def test_a_cache_that_is_down_costs_a_decode_not_the_upload(
    settings, library, near_copy, decodes, caplog, django_capture_on_commit_callbacks
):
    settings.CACHES = {
        **settings.CACHES,
        "down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        },
    }
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "UPLOAD_CHECK_CACHE": "down"}
    with caplog.at_level(logging.WARNING, logger="imagex_dedup"):
        result = check_upload(near_copy, model=Photo)
        assert len(result.matches) == 1
        save_photo("Copy", near_copy.read(), django_capture_on_commit_callbacks)
    assert decodes == [1] and "could not hand the upload's fingerprint on" in caplog.text
