"""The two stages of a scan, as two django-q2 task kinds.

**Fingerprint** (``fingerprint_step``): claim a batch to fingerprint, analyse its images that
are not current, store them with their index keys in one transaction (``hook.tasks.record_batch``:
an upsert on the fingerprint's unique ref, so a batch done twice leaves one row per image), move
the batch on, then enqueue one check task and this task's successor. It writes only the batch's
own fingerprint and key rows, so fingerprint workers never wait for each other.

**Check** (``check_step``): claim a fingerprinted batch and look up the duplicates of its images
not checked yet (``checked_at`` empty), through ``groups.py`` like every check: the rows of the
refs involved are locked in primary-key order, so two check workers linking the same images take
turns instead of deadlocking. Checking again what is checked changes nothing, so a batch checked
twice (a worker killed after its groups commit) gives the same groups.

A failure inside a step is recorded on the batch (``handout.fail``), and the step still hands on
its successor, so one bad batch never stalls a run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from imagex_dedup import engine, scheduling
from imagex_dedup.backends import get_backend
from imagex_dedup.db import refresh_connections
from imagex_dedup.hook import outbox
from imagex_dedup.hook.tasks import check_stored, mark_checked, record_batch
from imagex_dedup.index.analysis import analyse_field_file
from imagex_dedup.index.store import refresh_planner_statistics
from imagex_dedup.models import ImageFingerprint, ScanBatch, ScanRun
from imagex_dedup.scan.handout import (
    CHECK_TASK,
    FINGERPRINT_TASK,
    MAX_MESSAGES,
    Stage,
    advance,
    claim,
    fail,
    finish_if_done,
)
from imagex_dedup.scan.targets import Target

logger = logging.getLogger(__name__)


def is_current(stored: tuple[str, int, str, object] | None, file_name: str) -> bool:
    """A stored ``(file_name, fingerprint_version, error, checked_at)`` needs no new work: same
    file, current fingerprint version (or a recorded error), and checked."""
    if stored is None:
        return False
    stored_name, version, error, checked_at = stored
    return (
        stored_name == file_name
        and (version == engine.FINGERPRINT_VERSION or bool(error))
        and checked_at is not None
    )


def _objects(batch: ScanBatch) -> list[models.Model]:
    """The host rows of the batch's key range that hold a file (rows added since planning
    included)."""
    images = Target(batch.content_type.model_class(), batch.field_name).images()
    return list(images.filter(pk__gte=batch.first_id, pk__lte=batch.last_id).order_by("pk"))


def _stored(batch: ScanBatch, object_ids: list[str]) -> dict[str, tuple]:
    rows = ImageFingerprint.objects.filter(
        content_type_id=batch.content_type_id,
        field_name=batch.field_name,
        object_id__in=object_ids,
    ).values_list("object_id", "file_name", "fingerprint_version", "error", "checked_at")
    return {object_id: tuple(rest) for object_id, *rest in rows}


def fingerprint_batch(batch: ScanBatch, force: bool) -> None:
    """Store the fingerprints of the batch's images that are not current."""
    objects = _objects(batch)
    stored = _stored(batch, [str(obj.pk) for obj in objects])
    todo = [
        (str(obj.pk), getattr(obj, batch.field_name))
        for obj in objects
        if force or not is_current(stored.get(str(obj.pk)), getattr(obj, batch.field_name).name)
    ]
    items = [(pk, field_file.name, analyse_field_file(field_file)) for pk, field_file in todo]
    refresh_connections()  # decoding may take long; the session may have been dropped meanwhile
    content_type = ContentType.objects.get_for_id(batch.content_type_id)
    records = record_batch(content_type, batch.field_name, items)
    failed = [f"{pk}: {analysis.error}" for pk, _, analysis in items if analysis.error]
    advance(
        batch,
        Stage.FINGERPRINTED,
        fingerprinted=len(records),
        errors=len(failed),
        messages=[*batch.messages, *failed][:MAX_MESSAGES],
    )


def check_batch(batch: ScanBatch) -> None:
    """Look up the duplicates of the batch's stored images not checked yet."""
    started = timezone.now()
    object_ids = [str(obj.pk) for obj in _objects(batch)]
    records = list(
        ImageFingerprint.objects.filter(
            content_type_id=batch.content_type_id,
            field_name=batch.field_name,
            object_id__in=object_ids,
            checked_at__isnull=True,
        ).order_by("pk")
    )
    backend = get_backend()
    for record in records:
        check_stored(record, backend)
    mark_checked(records)
    outbox.clear(
        [(batch.content_type_id, object_id, batch.field_name) for object_id in object_ids],
        started,
    )
    advance(batch, Stage.CHECKED)


def _step(run_id: int, stage: str, work: Callable[[ScanBatch, ScanRun], None]) -> ScanBatch | None:
    """Claim one batch at ``stage`` and do ``work`` on it; returns the batch (moved on, or
    still at ``stage`` after a failure), or ``None`` when there was nothing to claim."""
    batch = claim(run_id, stage)
    if batch is None:
        return None
    try:
        work(batch, batch.run)
    except Exception as error:
        logger.exception("imagex_dedup: scan batch %s failed", batch.pk)
        refresh_connections()
        fail(batch, f"{type(error).__name__}: {error}")
    return batch


def _fingerprint(batch: ScanBatch, run: ScanRun) -> None:
    fingerprint_batch(batch, run.force)
    done = ScanBatch.objects.filter(run=run).exclude(stage=Stage.PENDING).count()
    if done & (done - 1) == 0:  # after the 1st, 2nd, 4th... batch: the index doubled
        refresh_planner_statistics()


def fingerprint_step(run_id: int) -> None:
    """Task: fingerprint one batch, then hand on a check task and this task's successor."""
    batch = _step(run_id, Stage.PENDING, _fingerprint)
    if batch is None:
        finish_if_done(run_id)
        return
    if batch.stage == Stage.FINGERPRINTED:
        scheduling.enqueue(CHECK_TASK, run_id)
    scheduling.enqueue(FINGERPRINT_TASK, run_id)


def check_step(run_id: int) -> None:
    """Task: check one fingerprinted batch; the last one finishes the run. A batch whose check
    failed (and has tries left) gets a check task again."""
    batch = _step(run_id, Stage.FINGERPRINTED, lambda batch, run: check_batch(batch))
    if batch is not None and batch.stage == Stage.FINGERPRINTED:
        scheduling.enqueue(CHECK_TASK, run_id)
    finish_if_done(run_id)
