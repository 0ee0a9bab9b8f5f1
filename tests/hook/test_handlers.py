"""The save/delete receivers: what schedules a check, and every guard that must not."""

from __future__ import annotations

import json
import logging

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.test import override_settings
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage

import imagex_dedup
from imagex_dedup import scheduling
from imagex_dedup.models import DuplicateGroup, ImageFingerprint
from tests.support.hook import jpeg, queued_checks, upload
from tests.testapp.models import Artwork, Product, ProxyPhoto, UUIDPhoto

pytestmark = pytest.mark.django_db


@pytest.fixture
def saved(django_capture_on_commit_callbacks):
    """Run ``fn`` and execute the on-commit callbacks it registers (tasks run inline)."""

    def run(fn):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            result = fn()
        return result, callbacks

    return run


def fingerprinted(obj, field="image") -> ImageFingerprint:
    return ImageFingerprint.objects.get(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk), field_name=field
    )


def test_new_object_is_fingerprinted_after_commit(saved, photo_model, original) -> None:
    photo, callbacks = saved(lambda: photo_model.objects.create(image=original))
    assert len(callbacks) == 1
    assert queued_checks() == 1
    record = fingerprinted(photo)
    assert record.file_name == photo.image.name
    assert (record.width, record.height, record.format) == (480, 360, "JPEG")
    assert record.byte_size == photo.image.size
    assert len(record.content_hash) == 64 and record.error == ""
    assert record.keys.count() > 0


def test_nothing_runs_before_commit(django_capture_on_commit_callbacks, photo_model, original):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        photo_model.objects.create(image=original)
    assert len(callbacks) == 1
    assert queued_checks() == 0
    assert not ImageFingerprint.objects.exists()


def test_task_gets_plain_arguments_on_the_broker(monkeypatch, saved, photo_model, original):
    monkeypatch.setattr(Conf, "SYNC", False)
    broker = get_broker()
    photo, _ = saved(lambda: photo_model.objects.create(image=original))
    ((_, package),) = broker.dequeue()
    queued = SignedPackage.loads(package)
    assert queued["func"] == "imagex_dedup.hook.tasks.check_object"
    assert queued["args"] == ("testapp", "photo", str(photo.pk), "image")
    assert queued["group"] == "imagex_dedup"
    assert not ImageFingerprint.objects.exists()


def test_save_without_image_change_schedules_nothing(saved, photo_model, original) -> None:
    photo, _ = saved(lambda: photo_model.objects.create(image=original))
    photo.title = "renamed"
    _, callbacks = saved(photo.save)
    reloaded = photo_model.objects.get(pk=photo.pk)
    reloaded.title = "again"
    _, callbacks_reloaded = saved(reloaded.save)
    assert callbacks == [] and callbacks_reloaded == []
    assert queued_checks() == 1


def test_new_file_on_existing_object_schedules_a_check(saved, photo_model, original, other):
    photo, _ = saved(lambda: photo_model.objects.create(image=original))
    reloaded = photo_model.objects.get(pk=photo.pk)
    reloaded.image = other
    saved(reloaded.save)
    assert queued_checks() == 2
    assert fingerprinted(photo).file_name == reloaded.image.name != photo.image.name


def test_raw_fixture_load_schedules_nothing(saved, photo_model, original) -> None:
    photo, _ = saved(lambda: photo_model.objects.create(image=original))
    data = serializers.serialize("json", [photo])
    payload = json.loads(data)
    payload[0]["pk"] = None
    payload[0]["fields"]["image"] = "photos/other.jpg"
    (deserialized,) = serializers.deserialize("json", json.dumps(payload))
    _, callbacks = saved(deserialized.save)
    assert callbacks == []
    assert queued_checks() == 1


def test_update_fields_without_the_image_schedules_nothing(saved, photo_model, original, other):
    photo, _ = saved(lambda: photo_model.objects.create(image=original))
    photo.image = other
    _, callbacks = saved(lambda: photo.save(update_fields=["title"]))
    assert callbacks == []
    _, callbacks = saved(lambda: photo.save(update_fields=["image"]))
    assert len(callbacks) == 1
    assert queued_checks() == 2


def test_kill_switch(saved, photo_model, original) -> None:
    with override_settings(IMAGEX_DEDUP={"ENABLED": False, "MODELS": {"testapp.Photo": "image"}}):
        photo, callbacks = saved(lambda: photo_model.objects.create(image=original))
        _, delete_callbacks = saved(photo.delete)
    assert callbacks == [] and delete_callbacks == []
    assert queued_checks() == 0


def test_deferred_field_is_left_alone(saved, photo_model, original, other) -> None:
    photo, _ = saved(lambda: photo_model.objects.create(image=original))
    deferred = photo_model.objects.only("title").get(pk=photo.pk)
    deferred.title = "deferred"
    _, callbacks = saved(deferred.save)
    assert callbacks == []
    deferred.image = other
    _, callbacks = saved(deferred.save)
    assert len(callbacks) == 1
    assert fingerprinted(photo).file_name == deferred.image.name


def test_object_created_without_an_image_schedules_nothing(saved) -> None:
    imagex_dedup.register(Product, field=["main_image", "thumbnail"])
    _, callbacks = saved(lambda: Product.objects.create(name="no images", main_image=""))
    assert callbacks == []


def test_only_the_changed_field_of_several_is_checked(saved, original, other) -> None:
    imagex_dedup.register(Product, field=["main_image", "thumbnail"])
    product, callbacks = saved(lambda: Product.objects.create(main_image=original))
    assert len(callbacks) == 1
    product.thumbnail = other
    saved(product.save)
    fields = set(ImageFingerprint.objects.values_list("field_name", flat=True))
    assert fields == {"main_image", "thumbnail"}
    assert queued_checks() == 2


def test_proxy_instances_are_checked_as_the_concrete_model(saved, original) -> None:
    proxy, _ = saved(lambda: ProxyPhoto.objects.create(image=original))
    record = fingerprinted(proxy)
    assert record.content_type.model == "photo"


def test_concrete_child_of_an_abstract_image_model(saved, original) -> None:
    imagex_dedup.register(Artwork, field="picture")
    artwork, _ = saved(lambda: Artwork.objects.create(picture=original))
    record = fingerprinted(artwork, "picture")
    assert (record.content_type.model, record.error) == ("artwork", "")


def test_uuid_primary_keys(saved, original) -> None:
    imagex_dedup.register(UUIDPhoto, field="image")
    obj, _ = saved(lambda: UUIDPhoto.objects.create(image=original))
    assert fingerprinted(obj).object_id == str(obj.pk)


def test_scheduling_failure_is_logged_not_raised(
    monkeypatch, caplog, saved, photo_model, original
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("queue down")

    monkeypatch.setattr(scheduling, "enqueue", broken)
    with caplog.at_level(logging.ERROR, logger="imagex_dedup"):
        photo, _ = saved(lambda: photo_model.objects.create(image=original))
    assert photo.pk is not None
    assert "could not schedule a check" in caplog.text


def test_clearing_the_image_forgets_its_fingerprint(saved, photo_model, original) -> None:
    photo, _ = saved(lambda: photo_model.objects.create(image=original))
    photo.image = ""
    saved(photo.save)
    assert not ImageFingerprint.objects.exists()


def test_delete_forgets_and_closes_groups(saved, photo_model, original, near_copy) -> None:
    first, _ = saved(lambda: photo_model.objects.create(image=original))
    second, _ = saved(lambda: photo_model.objects.create(image=near_copy))
    third, _ = saved(
        lambda: photo_model.objects.create(image=upload("third.jpg", jpeg("flower.jpg", scale=0.8)))
    )
    group = DuplicateGroup.objects.get()
    assert group.members.count() == 3
    saved(first.delete)
    members = list(group.members.all())
    assert {m.object_id for m in members} == {str(second.pk), str(third.pk)}
    assert [m.object_id for m in members if m.is_primary] == [str(second.pk)]
    assert not ImageFingerprint.objects.filter(object_id=str(first.pk)).exists()
    saved(second.delete)
    assert not DuplicateGroup.objects.exists()
    assert list(ImageFingerprint.objects.values_list("object_id", flat=True)) == [str(third.pk)]


def test_delete_leaves_merged_and_dismissed_groups_alone(
    saved, photo_model, original, near_copy
) -> None:
    first, _ = saved(lambda: photo_model.objects.create(image=original))
    saved(lambda: photo_model.objects.create(image=near_copy))
    DuplicateGroup.objects.update(status=DuplicateGroup.Status.DISMISSED)
    saved(first.delete)
    group = DuplicateGroup.objects.get()
    assert group.status == DuplicateGroup.Status.DISMISSED
    assert group.members.count() == 2
