"""Starting, planning, cancelling and resuming scan runs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from imagex_dedup import scheduling
from imagex_dedup.conf import dedup_settings
from imagex_dedup.models import ScanBatch, ScanRun
from imagex_dedup.scan.handout import PLAN_TASK, finish_if_done, seed
from imagex_dedup.scan.targets import Target, from_label

PLAN_CHUNK = 2000  # primary keys read per query while planning


def start_run(targets: Sequence[Target], *, force: bool = False, user: Any = None) -> ScanRun:
    """Record a run over ``targets`` and enqueue its planning (after commit)."""
    with transaction.atomic():
        run = ScanRun.objects.create(
            targets=[target.label for target in targets],
            force=force,
            batch_size=dedup_settings.scan_batch_size,
            created_by=user if getattr(user, "pk", None) else None,
        )
        scheduling.enqueue(PLAN_TASK, run.pk)
    return run


def _ranges(target: Target, size: int) -> Iterator[list[Any]]:
    """The target's primary keys in order, ``size`` at a time (keyset pagination)."""
    keys = target.images().order_by("pk").values_list("pk", flat=True)
    batch: list[Any] = []
    chunk = list(keys[:PLAN_CHUNK])
    while chunk:
        for key in chunk:
            batch.append(key)
            if len(batch) == size:
                yield batch
                batch = []
        chunk = list(keys.filter(pk__gt=chunk[-1])[:PLAN_CHUNK])
    if batch:
        yield batch


def plan_run(run_id: int) -> None:
    """Task: write the run's batches (all in one transaction, so a plan interrupted half-way
    leaves none and runs again whole), then start its workers. Runs once in effect."""
    with transaction.atomic():
        run = ScanRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.planned:
            return
        batches = []
        for label in run.targets:
            target = from_label(label)
            content_type = ContentType.objects.get_for_model(target.model)
            batches += [
                ScanBatch(
                    run=run,
                    content_type=content_type,
                    field_name=target.field_name,
                    first_id=str(keys[0]),
                    last_id=str(keys[-1]),
                    size=len(keys),
                )
                for keys in _ranges(target, run.batch_size)
            ]
        ScanBatch.objects.bulk_create(batches, batch_size=1000)
        run.planned = True
        run.save(update_fields=["planned"])
    if run.status == ScanRun.Status.RUNNING and not finish_if_done(run.pk):
        seed(run, dedup_settings.scan_concurrency)


def cancel_run(run: ScanRun) -> bool:
    """Stop handing out batches; batches already claimed finish. ``False``: not running."""
    return bool(
        ScanRun.objects.filter(pk=run.pk, status=ScanRun.Status.RUNNING).update(
            status=ScanRun.Status.CANCELLED, finished_at=timezone.now()
        )
    )


def resume_run(run: ScanRun) -> bool:
    """Hand out a cancelled (or stalled) run's remaining batches again. ``False``: finished."""
    if run.status == ScanRun.Status.FINISHED:
        return False
    ScanRun.objects.filter(pk=run.pk).update(status=ScanRun.Status.RUNNING, finished_at=None)
    run.refresh_from_db()
    if not run.planned:
        scheduling.enqueue(PLAN_TASK, run.pk)
    elif not finish_if_done(run.pk):
        seed(run, dedup_settings.scan_concurrency)
    return True
