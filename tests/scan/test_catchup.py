"""The outbox and the periodic catch-up: a saved image whose check message was lost is checked
again without anyone running a command; nothing is sent twice within the grace."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf

from imagex_dedup.hook import outbox
from imagex_dedup.hook.tasks import check_object
from imagex_dedup.models import ImageFingerprint, PendingCheck, ScanBatch, ScanRun
from imagex_dedup.scan import catchup, stages
from imagex_dedup.scan.planning import plan_run
from imagex_dedup.scheduling import lost_after
from tests.support.hook import jpeg, upload
from tests.support.library import make_library, open_groups
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db(transaction=True)


def save_photo(name: str, data: bytes) -> Photo:
    return Photo.objects.create(image=upload(name, data))


def overdue() -> None:
    PendingCheck.objects.update(due_at=timezone.now() - timedelta(seconds=1))


def test_a_save_writes_a_pending_check_and_its_check_removes_it(queue_only) -> None:
    before = timezone.now()
    photo = save_photo("a.jpg", jpeg("flower.jpg"))
    pending = PendingCheck.objects.get()
    assert (pending.object_id, pending.field_name, pending.attempts) == (str(photo.pk), "image", 0)
    assert before <= pending.saved_at and pending.due_at == pending.saved_at + lost_after()
    assert lost_after() == timedelta(seconds=120 + Conf.RETRY)
    check_object("testapp", "photo", str(photo.pk), "image")
    assert not PendingCheck.objects.exists()
    assert ImageFingerprint.objects.get().checked_at is not None


def test_a_save_during_the_check_keeps_its_pending_row(queue_only) -> None:
    photo = save_photo("a.jpg", jpeg("flower.jpg"))
    started = timezone.now()
    photo.image = upload("b.jpg", jpeg("test-card.png"))
    photo.save()  # saved again while the first check runs
    outbox.clear([(PendingCheck.objects.get().content_type_id, str(photo.pk), "image")], started)
    assert PendingCheck.objects.count() == 1


def test_lost_check_messages_are_sent_again_once_overdue(queue_only) -> None:
    photos = [
        save_photo(f"{n}.jpg", jpeg("flower.jpg", scale=s)) for n, s in (("a", 1), ("b", 0.6))
    ]
    get_broker().purge_queue()  # both messages lost (a worker killed, a broker restarted)
    assert catchup.catch_up() == {"checks": 0, "runs": 0}, "not before the grace"
    overdue()
    assert catchup.catch_up() == {"checks": 2, "runs": 0}
    assert get_broker().queue_size() == 2
    row = PendingCheck.objects.first()
    assert row.attempts == 1 and row.due_at > timezone.now() + lost_after() - timedelta(seconds=5)
    assert catchup.catch_up() == {"checks": 0, "runs": 0}, "sent once per grace"
    for photo in photos:  # the worker runs what the catch-up sent
        check_object("testapp", "photo", str(photo.pk), "image")
    assert open_groups() == [sorted(str(photo.pk) for photo in photos)]
    assert not PendingCheck.objects.exists()


def test_catch_up_runs_the_checks_inline_with_a_sync_broker() -> None:
    with override_settings(IMAGEX_DEDUP={"MODELS": {"testapp.Photo": "image"}, "ENABLED": False}):
        photo = save_photo("a.jpg", jpeg("flower.jpg"))
    content_type_id = (
        PendingCheck._meta.get_field("content_type").related_model.objects.get(model="photo").pk
    )
    outbox.note_saved(content_type_id, str(photo.pk), "image", "default")  # a lost check
    overdue()
    assert catchup.catch_up()["checks"] == 1
    assert not PendingCheck.objects.exists()
    assert ImageFingerprint.objects.get().checked_at is not None


def test_the_catch_up_query_uses_the_due_index() -> None:
    query = PendingCheck.objects.filter(due_at__lte=timezone.now()).order_by("due_at")[:10]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")
        plan = query.explain()
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan")
    else:
        plan = query.explain()
    assert "imagex_dedup_pending_due" in plan


@override_settings(IMAGEX_DEDUP={"MODELS": {"testapp.Photo": "image"}, "SCAN_BATCH_SIZE": 4})
def test_a_run_whose_tasks_were_lost_is_resumed(queue_only) -> None:
    with override_settings(IMAGEX_DEDUP={"MODELS": {"testapp.Photo": "image"}, "ENABLED": False}):
        make_library(8)
    run = ScanRun.objects.create(targets=["testapp.photo.image"], batch_size=4)
    get_broker().purge_queue()  # the planning message is lost
    assert catchup.resume_stalled_runs() == 0, "not before the grace"
    ScanRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - lost_after() * 2)
    assert catchup.resume_stalled_runs() == 1 and get_broker().queue_size() == 1
    get_broker().purge_queue()
    plan_run(run.pk)
    stages.fingerprint_step(run.pk)  # one batch done, then every message is lost
    get_broker().purge_queue()
    assert catchup.resume_stalled_runs() == 0, "a batch was claimed within the grace"
    ScanBatch.objects.update(claimed_at=timezone.now() - lost_after() * 2)
    assert catchup.resume_stalled_runs() == 1
    assert get_broker().queue_size() == 2  # one fingerprint task (one batch left), one check
    stages.fingerprint_step(run.pk)
    stages.check_step(run.pk)
    stages.check_step(run.pk)
    assert ScanRun.objects.get(pk=run.pk).status == ScanRun.Status.FINISHED
    assert catchup.resume_stalled_runs() == 0
