"""Handing batches out to workers, one worker per batch at a time.

A claim is a short transaction: ``SELECT ... FOR UPDATE SKIP LOCKED`` of the first batch at the
wanted stage whose lease is free or ran out, then its lease is set. Two workers claiming at once
get different batches without waiting for each other (PostgreSQL); on SQLite the claims take
turns on the write lock (``db.write_transaction``). A batch whose worker died is claimed again
when its lease runs out; after ``MAX_ATTEMPTS`` claims it is given up as failed, with a message,
so a run always finishes.
"""

from __future__ import annotations

import logging

from django.db.models import Q
from django.utils import timezone

from imagex_dedup import scheduling
from imagex_dedup.db import write_transaction
from imagex_dedup.models import ScanBatch, ScanRun
from imagex_dedup.scheduling import batch_lease

logger = logging.getLogger(__name__)

FINGERPRINT_TASK = "imagex_dedup.scan.stages.fingerprint_step"
CHECK_TASK = "imagex_dedup.scan.stages.check_step"
PLAN_TASK = "imagex_dedup.scan.planning.plan_run"
MAX_ATTEMPTS = 3
MAX_MESSAGES = 20
Stage = ScanBatch.Stage


def _free(now: object) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def claim(run_id: int, stage: str) -> ScanBatch | None:
    """Take the next free batch of a running run at ``stage``, or ``None``."""
    if not ScanRun.objects.filter(pk=run_id, status=ScanRun.Status.RUNNING).exists():
        return None
    now = timezone.now()
    with write_transaction():
        _give_up_exhausted(run_id, stage, now)
        batch = (
            ScanBatch.objects.select_for_update(skip_locked=True)
            .filter(_free(now), run_id=run_id, stage=stage)
            .order_by("pk")
            .first()
        )
        if batch is None:
            return None
        batch.lease_until = now + batch_lease()
        batch.claimed_at = now
        batch.attempts += 1
        batch.save(update_fields=["lease_until", "claimed_at", "attempts"])
    return batch


def _give_up_exhausted(run_id: int, stage: str, now: object) -> None:
    """Batches whose worker was lost ``MAX_ATTEMPTS`` times (killed each time, e.g. out of
    memory) fail, so they are not handed out forever."""
    exhausted = ScanBatch.objects.filter(
        run_id=run_id, stage=stage, attempts__gte=MAX_ATTEMPTS, lease_until__lt=now
    )
    for batch in exhausted.select_for_update(skip_locked=True):
        fail(batch, f"worker lost {batch.attempts} times (killed or timed out)")


def advance(batch: ScanBatch, stage: str, **counts: object) -> None:
    """Move a claimed batch to its next ``stage`` and free its lease."""
    batch.stage = stage
    batch.lease_until = None
    fields = ["stage", "lease_until", *counts]
    for name, value in counts.items():
        setattr(batch, name, value)
    if stage == Stage.CHECKED:
        batch.finished_at = timezone.now()
        fields.append("finished_at")
    batch.save(update_fields=fields)


def fail(batch: ScanBatch, message: str) -> None:
    """Record a batch's own failure; after ``MAX_ATTEMPTS`` tries it is given up."""
    batch.messages = [*batch.messages, f"batch {batch.first_id}..{batch.last_id}: {message}"][
        -MAX_MESSAGES:
    ]
    fields = ["messages", "lease_until"]
    batch.lease_until = None
    if batch.attempts >= MAX_ATTEMPTS:
        batch.stage = Stage.FAILED
        batch.errors = batch.size
        batch.finished_at = timezone.now()
        fields += ["stage", "errors", "finished_at"]
    batch.save(update_fields=fields)


def finish_if_done(run_id: int) -> bool:
    """Mark the run finished once no batch is left to fingerprint or check."""
    if ScanBatch.objects.filter(
        run_id=run_id, stage__in=[Stage.PENDING, Stage.FINGERPRINTED]
    ).exists():
        return False
    return bool(
        ScanRun.objects.filter(pk=run_id, status=ScanRun.Status.RUNNING, planned=True).update(
            status=ScanRun.Status.FINISHED, finished_at=timezone.now()
        )
    )


def seed(run: ScanRun, concurrency: int) -> int:
    """Enqueue the tasks that work a run off: up to ``concurrency`` fingerprint tasks (each
    enqueues its successor) and one check task per batch waiting to be checked. Extra tasks
    are harmless: a task that finds no free batch ends."""
    now = timezone.now()
    free = ScanBatch.objects.filter(_free(now), run=run)
    fingerprint = min(concurrency, free.filter(stage=Stage.PENDING).count())
    check = free.filter(stage=Stage.FINGERPRINTED).count()
    for _ in range(fingerprint):
        scheduling.enqueue(FINGERPRINT_TASK, run.pk)
    for _ in range(check):
        scheduling.enqueue(CHECK_TASK, run.pk)
    return fingerprint + check
