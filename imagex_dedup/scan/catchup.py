"""The periodic catch-up: what a lost message or a dead worker left undone, enqueued again.

Installed as a django-q2 schedule (``scan.schedule``). Each run costs two indexed queries when
nothing is lost: pending checks past ``due_at`` (the ``PendingCheck.due_at`` index) and running
scan runs (the ``ScanRun.status`` index).

* A pending check past ``due_at`` is enqueued again, and its ``due_at`` moves on by the same
  grace (``leases.lost_after``), so a check still queued behind a long backlog is sent at most
  once per grace.
* A running scan run with work left and no batch claimed within the grace has lost its tasks:
  its workers are started again (``handout.seed``); a run whose planning task was lost is
  planned again.
"""

from __future__ import annotations

import logging

from django.db.models import F, Max
from django.utils import timezone

from imagex_dedup import scheduling
from imagex_dedup.conf import dedup_settings
from imagex_dedup.hook import outbox
from imagex_dedup.hook.handlers import CHECK_TASK as HOOK_CHECK_TASK
from imagex_dedup.models import PendingCheck, ScanBatch, ScanRun
from imagex_dedup.scan.handout import PLAN_TASK, Stage, finish_if_done, seed
from imagex_dedup.scheduling import lost_after

logger = logging.getLogger(__name__)

LIMIT = 5000  # pending checks enqueued again per run of the catch-up


def requeue_lost_checks() -> int:
    """Enqueue again the checks whose pending row is past its ``due_at``."""
    now = timezone.now()
    rows = outbox.due(now, LIMIT)
    for row in rows:
        scheduling.enqueue(
            HOOK_CHECK_TASK,
            row.content_type.app_label,
            row.content_type.model,
            row.object_id,
            row.field_name,
        )
    PendingCheck.objects.filter(pk__in=[row.pk for row in rows]).update(
        due_at=now + lost_after(), attempts=F("attempts") + 1
    )
    return len(rows)


def resume_stalled_runs() -> int:
    """Start the workers of running scan runs again when none claimed a batch lately."""
    now = timezone.now()
    resumed = 0
    for run in ScanRun.objects.filter(status=ScanRun.Status.RUNNING):
        if not run.planned:
            if run.started_at < now - lost_after():
                scheduling.enqueue(PLAN_TASK, run.pk)
                resumed += 1
            continue
        if finish_if_done(run.pk):
            continue
        batches = ScanBatch.objects.filter(run=run)
        last = batches.aggregate(last=Max("claimed_at"))["last"] or run.started_at
        stuck = batches.filter(stage__in=[Stage.PENDING, Stage.FINGERPRINTED])
        if last < now - lost_after() and stuck.exists():
            seed(run, dedup_settings.scan_concurrency)
            resumed += 1
    return resumed


def catch_up() -> dict[str, int]:
    """Task: both of the above; returns what it did (kept in the task's result)."""
    done = {"checks": requeue_lost_checks(), "runs": resume_stalled_runs()}
    if any(done.values()):
        logger.warning("imagex_dedup: catch-up enqueued %s", done)
    return done
