"""How far a scan run got, read from its batches (workers never write the run's own row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max, Q, QuerySet, Sum
from django.utils import timezone

from imagex_dedup.models import ScanBatch, ScanRun

Stage = ScanBatch.Stage
MESSAGES_SHOWN = 20
DONE = [Stage.CHECKED, Stage.FAILED]


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


def _totals(prefix: str = "") -> dict[str, Any]:
    """Aggregates of a run's batches (``prefix``: the path to them from the queried model)."""
    return {
        "total": Sum(f"{prefix}size"),
        "done": Sum(f"{prefix}size", filter=Q(**{f"{prefix}stage__in": DONE})),
        "fingerprinted": Sum(f"{prefix}fingerprinted"),
        "errors": Sum(f"{prefix}errors"),
        "last": Max(f"{prefix}finished_at"),
    }


def with_totals(runs: QuerySet[ScanRun]) -> QuerySet[ScanRun]:
    """``runs`` annotated with their totals, for :func:`progress` without a query per run."""
    return runs.annotate(
        **{f"progress_{name}": value for name, value in _totals("batches__").items()}
    )


def progress(run: ScanRun, *, messages: bool = True) -> Progress:
    if hasattr(run, "progress_total"):
        totals = {name: getattr(run, f"progress_{name}") for name in _totals()}
    else:
        totals = ScanBatch.objects.filter(run=run).aggregate(**_totals())
    shown: list[str] = []
    if messages:
        for batch_messages in (
            ScanBatch.objects.filter(run=run)
            .exclude(messages=[])
            .values_list("messages", flat=True)[:MESSAGES_SHOWN]
        ):
            shown += batch_messages
    return Progress(
        run=run,
        total=totals["total"] or 0,
        done=totals["done"] or 0,
        fingerprinted=totals["fingerprinted"] or 0,
        errors=totals["errors"] or 0,
        last_finished=totals["last"],
        messages=shown[:MESSAGES_SHOWN],
    )
