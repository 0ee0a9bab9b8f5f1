"""How far a scan run got, read from its batches (workers never write the run's own row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max, Q, Sum
from django.utils import timezone

from imagex_dedup.models import ScanBatch, ScanRun

Stage = ScanBatch.Stage
MESSAGES_SHOWN = 20


@dataclass(frozen=True)
class Progress:
    run: ScanRun
    total: int
    done: int
    fingerprinted: int
    errors: int
    last_finished: datetime | None
    messages: list[str]

    @property
    def finished(self) -> bool:
        return self.run.status == ScanRun.Status.FINISHED

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else (100.0 if self.finished else 0.0)

    @property
    def elapsed(self) -> timedelta:
        end = self.run.finished_at or (
            timezone.now() if self.run.status == ScanRun.Status.RUNNING else self.last_finished
        )
        return (end or self.run.started_at) - self.run.started_at

    @property
    def rate(self) -> float:
        """Images done per second since the run started."""
        seconds = self.elapsed.total_seconds()
        return self.done / seconds if seconds > 0 else 0.0

    @property
    def eta(self) -> timedelta | None:
        if self.run.status != ScanRun.Status.RUNNING or not self.rate:
            return None
        return timedelta(seconds=round((self.total - self.done) / self.rate))

    def line(self) -> str:
        eta = f", ETA {self.eta}" if self.eta is not None else ""
        return (
            f"Scan #{self.run.pk} {self.run.status}: {self.done}/{self.total} "
            f"({self.percent:.0f}%), {self.fingerprinted} fingerprinted, {self.errors} errors, "
            f"{self.rate:.1f} images/s{eta}"
        )


def progress(run: ScanRun) -> Progress:
    batches = ScanBatch.objects.filter(run=run)
    totals = batches.aggregate(
        total=Sum("size"),
        done=Sum("size", filter=Q(stage__in=[Stage.CHECKED, Stage.FAILED])),
        fingerprinted=Sum("fingerprinted"),
        errors=Sum("errors"),
        last=Max("finished_at"),
    )
    messages: list[str] = []
    for batch_messages in batches.exclude(messages=[]).values_list("messages", flat=True)[
        :MESSAGES_SHOWN
    ]:
        messages += batch_messages
    return Progress(
        run=run,
        total=totals["total"] or 0,
        done=totals["done"] or 0,
        fingerprinted=totals["fingerprinted"] or 0,
        errors=totals["errors"] or 0,
        last_finished=totals["last"],
        messages=messages[:MESSAGES_SHOWN],
    )
