"""The check task and the index: stored facts, bad input, idempotence, candidate lookup."""

from __future__ import annotations

import logging
import os
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.test import override_settings

from imagex_dedup import engine
from imagex_dedup.hook.tasks import check_object
from imagex_dedup.index import analysis, lookup
from imagex_dedup.models import (
    DetectionTask,
    DuplicateGroup,
    ImageFingerprint,
    ImageFingerprintKey,
)
from tests.support.hook import jpeg
from tests.support.records import store_fingerprint
from tests.support.synthetic import synthetic_fingerprints
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db


def photo(name: str, data: bytes) -> Photo:
    """A saved Photo whose hook does not run (no on-commit execution in these tests)."""
    obj = Photo()
    obj.image.save(name, ContentFile(data), save=True)
    return obj


def check(obj: Photo) -> None:
    check_object("testapp", "photo", str(obj.pk), "image")


def record_of(obj: Photo) -> ImageFingerprint:
    return ImageFingerprint.objects.get(object_id=str(obj.pk), field_name="image")


def test_check_groups_near_duplicates_and_is_idempotent() -> None:
    a = photo("a.jpg", jpeg("flower.jpg"))
    b = photo("b.jpg", jpeg("flower.jpg", scale=0.6, quality=60))
    c = photo("c.jpg", jpeg("test-card.png"))
    for obj in (a, b, c):
        check(obj)
    group = DuplicateGroup.objects.get()
    snapshot = sorted(group.members.values_list("object_id", "score", "is_primary"))
    keys = ImageFingerprintKey.objects.count()
    check(b)
    check(a)
    assert DuplicateGroup.objects.get().pk == group.pk
    assert sorted(group.members.values_list("object_id", "score", "is_primary")) == snapshot
    assert snapshot[0] == (str(a.pk), 1.0, True) and snapshot[1][0] == str(b.pk)
    assert 0.9 < snapshot[1][1] < 1.0
    assert ImageFingerprint.objects.count() == 3
    assert ImageFingerprintKey.objects.count() == keys
    task = DetectionTask.objects.filter(kind="check").first()
    assert task.request["Subject"] == record_of(a).ref
    assert task.status == DetectionTask.Status.SUCCESS


def test_store_fingerprint_records_the_file_facts() -> None:
    a = photo("facts.jpg", jpeg("flower.jpg", scale=0.5))
    record = store_fingerprint(a, "image")
    assert (record.width, record.height, record.format, record.error) == (240, 180, "JPEG", "")
    assert record.byte_size == a.image.size and record.file_name == a.image.name
    assert record.fingerprint_version == engine.FINGERPRINT_VERSION
    assert sorted(record.keys.values_list("key", flat=True)) == engine.index_keys(
        bytes(record.fingerprint)
    )
    assert not DuplicateGroup.objects.exists()


def test_bad_image_records_the_error_and_changes_no_groups() -> None:
    a = photo("a.jpg", jpeg("flower.jpg"))
    b = photo("b.jpg", jpeg("flower.jpg", scale=0.5))
    check(a)
    check(b)
    group = DuplicateGroup.objects.get()
    broken = photo("broken.jpg", b"this is not a JPEG at all" * 10)
    check(broken)
    record = record_of(broken)
    assert record.error.startswith(("not_an_image", "corrupt", "unsupported_format"))
    assert record.fingerprint is None and record.keys.count() == 0
    b.image.save("b2.jpg", ContentFile(b"\xff\xd8\xff garbage"), save=True)
    check(b)
    assert record_of(b).error
    assert DuplicateGroup.objects.get().pk == group.pk and group.members.count() == 2


def test_size_limit_comes_from_settings() -> None:
    a = photo("a.jpg", jpeg("flower.jpg"))
    with override_settings(IMAGEX_DEDUP={"MAX_IMAGE_BYTES": 1000}):
        check(a)
    assert record_of(a).error.startswith("too_large")
    with override_settings(IMAGEX_DEDUP={"MAX_IMAGE_PIXELS": 1000}):
        check(a)
    assert record_of(a).error.startswith("too_many_pixels")


def test_missing_file_is_recorded_as_not_found() -> None:
    a = photo("a.jpg", jpeg("flower.jpg"))
    a.image.storage.delete(a.image.name)
    check(a)
    assert record_of(a).error.startswith("not_found")


def test_changed_image_leaves_its_old_group() -> None:
    a = photo("a.jpg", jpeg("flower.jpg"))
    b = photo("b.jpg", jpeg("flower.jpg", scale=0.6))
    check(a)
    check(b)
    assert DuplicateGroup.objects.count() == 1
    b.image.save("card.jpg", ContentFile(jpeg("test-card.png")), save=True)
    check(b)
    assert not DuplicateGroup.objects.exists()
    assert record_of(b).file_name == b.image.name


def test_deleted_object_is_forgotten_by_its_task() -> None:
    a = photo("a.jpg", jpeg("flower.jpg"))
    check(a)
    pk = str(a.pk)
    Photo.objects.filter(pk=a.pk).delete()
    check_object("testapp", "photo", pk, "image")
    assert not ImageFingerprint.objects.exists()


@override_settings(
    STORAGES={
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
)
def test_storage_without_local_paths() -> None:
    a = photo("in-memory.jpg", jpeg("flower.jpg"))
    assert not os.path.exists(a.image.storage.path(a.image.name)), "a path that is not a file"
    check(a)
    record = record_of(a)
    assert (record.width, record.height, record.error) == (480, 360, "")
    assert isinstance(analysis.portable_source(a.image), bytes)


def test_find_matches_reads_only_candidates(monkeypatch) -> None:
    fingerprints, planted = synthetic_fingerprints(2000, seed=7, planted=5)
    content_type = ContentType.objects.get_for_model(Photo)
    records = ImageFingerprint.objects.bulk_create(
        ImageFingerprint(
            content_type=content_type,
            object_id=str(i),
            field_name="image",
            fingerprint=fp.to_bytes(),
            fingerprint_version=engine.FINGERPRINT_VERSION,
        )
        for i, fp in enumerate(fingerprints)
    )
    ImageFingerprintKey.objects.bulk_create(
        ImageFingerprintKey(fingerprint=record, key=key)
        for record, fp in zip(records, fingerprints, strict=True)
        for key in engine.index_keys(fp)
    )
    seen: list[int] = []
    real_compare_many = engine.compare_many

    def counting(query, candidates):
        seen.append(len(candidates))
        return real_compare_many(query, candidates)

    monkeypatch.setattr(engine, "compare_many", counting)
    original, copy = planted[0]
    subject = ImageFingerprint.objects.get(object_id=str(copy))
    matches = lookup.find_matches(subject, 0.84)
    assert str(original) in [record.object_id for record, _ in matches]
    assert all(record.object_id != str(copy) for record, _ in matches)
    assert seen and seen[0] < 200, f"{seen[0]} candidates read for one lookup"


def test_each_check_is_logged_at_info(caplog) -> None:
    caplog.set_level(logging.INFO, logger="imagex_dedup.hook.tasks")
    a = photo("a.jpg", jpeg("flower.jpg"))
    b = photo("b.jpg", jpeg("flower.jpg", scale=0.6, quality=60))
    broken = photo("broken.jpg", b"not an image")
    for obj in (a, b, broken):
        check(obj)
    group = DuplicateGroup.objects.get()
    gone = a.pk
    a.delete()
    check_object("testapp", "photo", str(gone), "image")

    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    lines = [re.sub(r"\(\d+ ms\)$", "(N ms)", line) for line in infos]
    prefix = "imagex_dedup: checked testapp.Photo pk="
    assert lines[:2] == [
        f"{prefix}{gone} image: no open group (N ms)",
        f"{prefix}{b.pk} image: in open group {group.pk} (N ms)",
    ]
    assert lines[2].startswith(f"{prefix}{broken.pk} image: unreadable: ")
    assert lines[3] == f"{prefix}{gone} image: forgotten (object gone or field empty) (N ms)"
