"""``manage.py dedup_scan``: fingerprint an existing library and link its duplicates.

Signals miss rows that existed before the app was installed, ``bulk_create`` and
``QuerySet.update()``; this command catches up. It walks each registered model in primary-key
order, one batch at a time, skips images whose stored fingerprint is current (same file name,
current fingerprint version, or a recorded error) unless ``--force``, and fingerprints the rest in
a process pool (``--workers``) while the previous batch is stored and checked. A batch is stored
in one transaction (``tasks.record_batch``: the same records and keys as the save hook's task,
and a changed image leaves its old groups), then each image is checked against the whole
library, images of the same batch included, as the task does (``tasks.check_stored``).

Interrupted runs resume where they stopped: a stored record's ``checked_at`` is empty until
its check ran (``tasks.mark_checked``, once per batch), so images stored but not yet checked are
not current and are done again.

With ``--enqueue`` the scan runs on the django-q2 cluster instead (``imagex_dedup.scan``): the
command records a scan run, prints its id and returns; ``--status [ID]`` prints its progress
(exit status 0 when finished, 3 while running), ``--cancel ID`` stops handing out its batches and
``--resume-run ID`` hands out the rest again.

The pool runs ``index.analyse`` rather than ``engine.fingerprint_many``: the index also stores
each file's size, dimensions, format and content hash, which ``fingerprint_many`` does not return.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models

from imagex_dedup.backends import get_backend
from imagex_dedup.conf import dedup_settings
from imagex_dedup.hook.tasks import check_stored, mark_checked, record_batch
from imagex_dedup.index.analysis import Analysis, analyse, portable_source
from imagex_dedup.index.store import refresh_planner_statistics
from imagex_dedup.models import ImageFingerprint, ScanRun
from imagex_dedup.scan.planning import cancel_run, resume_run, start_run
from imagex_dedup.scan.progress import progress
from imagex_dedup.scan.stages import is_current
from imagex_dedup.scan.targets import Target, UnknownTarget, resolve

T = TypeVar("T")
STILL_RUNNING = 3  # exit status of --status while the run goes on


class Progress:
    """A one-line progress report on a terminal stream: counts, rate and errors."""

    def __init__(self, write: Callable[[str], None], label: str, total: int, *, enabled: bool):
        self.write, self.label, self.total, self.enabled = write, label, total, enabled
        self.done = self.fingerprinted = self.errors = 0
        self.started = self.shown = time.monotonic()

    def update(self, done: int, fingerprinted: int, errors: int) -> None:
        self.done += done
        self.fingerprinted += fingerprinted
        self.errors += errors
        if time.monotonic() - self.shown >= 0.5 or self.done >= self.total:
            self.show()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        percent = 100 * self.done / self.total if self.total else 100
        return (
            f"{self.label}: {self.done}/{self.total} ({percent:.0f}%), "
            f"{self.fingerprinted} fingerprinted, {self.errors} errors, "
            f"{self.done / elapsed:.1f} images/s"
        )

    def show(self) -> None:
        self.shown = time.monotonic()
        if self.enabled:
            self.write("\r" + self.line())

    def close(self) -> None:
        if self.enabled:
            self.show()
            self.write("\n")


def one_ahead(items: Iterable[T]) -> Iterator[T]:
    """Each item once the next one has been taken from ``items``: a batch is handed on after the
    next batch's analysis has started, so the pool fingerprints while the batch is stored."""
    previous: list[T] = []
    for item in items:
        yield from previous
        previous = [item]
    yield from previous


@dataclass
class Started:
    """A batch whose images to (re)do are being analysed."""

    content_type: ContentType
    field_name: str
    size: int
    todo: list[tuple[str, str]]  # (object id, file name)
    analyses: Iterator[Analysis]


@contextmanager
def worker_pool(workers: int) -> Iterator[Executor | None]:
    if workers <= 1:
        yield None
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield pool


class Command(BaseCommand):
    help = "Fingerprint the images of registered models and link their near-duplicates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--model",
            action="append",
            metavar="APP_LABEL.MODEL",
            help="only this registered model (repeatable)",
        )
        parser.add_argument("--batch-size", type=int, default=200)
        parser.add_argument(
            "--workers",
            type=int,
            default=2,
            help="processes that fingerprint in parallel (default 2)",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--resume",
            action="store_true",
            default=True,
            help="skip images whose fingerprint is current (default)",
        )
        mode.add_argument(
            "--force", action="store_true", help="fingerprint and check every image again"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
        cluster = parser.add_mutually_exclusive_group()
        cluster.add_argument(
            "--enqueue",
            action="store_true",
            help="scan on the django-q2 cluster: record a scan run, print its id and return",
        )
        cluster.add_argument(
            "--status",
            nargs="?",
            type=int,
            const=0,
            metavar="ID",
            help="progress of a cluster scan run (default: the latest); exit status 0 when "
            "finished, 3 while running",
        )
        cluster.add_argument(
            "--cancel", type=int, metavar="ID", help="stop handing out the batches of a run"
        )
        cluster.add_argument(
            "--resume-run",
            type=int,
            metavar="ID",
            help="hand out the remaining batches of a cancelled or stalled run again",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            run = start_run(self._targets(options["model"]), force=options["force"])
            self.stdout.write(f"Scan #{run.pk} enqueued: {', '.join(run.targets)}")
        elif options["status"] is not None:
            self._status(options["status"])
        elif options["cancel"] is not None:
            if not cancel_run(self._run(options["cancel"])):
                raise CommandError(f"Scan #{options['cancel']} is not running")
            self.stdout.write(f"Scan #{options['cancel']} cancelled")
        elif options["resume_run"] is not None:
            if not resume_run(self._run(options["resume_run"])):
                raise CommandError(f"Scan #{options['resume_run']} is finished")
            self.stdout.write(f"Scan #{options['resume_run']} resumed")
        else:
            self._scan_here(options)

    @staticmethod
    def _run(run_id: int) -> ScanRun:
        run = ScanRun.objects.filter(pk=run_id).first() if run_id else ScanRun.objects.first()
        if run is None:
            raise CommandError(f"No scan run #{run_id}" if run_id else "No scan run yet")
        return run

    def _status(self, run_id: int) -> None:
        report = progress(self._run(run_id))
        self.stdout.write(report.line())
        for message in report.messages:
            self.stdout.write(f"  {message}")
        if report.run.status == ScanRun.Status.RUNNING:
            raise SystemExit(STILL_RUNNING)

    def _scan_here(self, options: dict[str, Any]) -> None:
        """The scan in this process, with a local pool."""
        if options["batch_size"] < 1 or options["workers"] < 1:
            raise CommandError("--batch-size and --workers must be at least 1")
        targets = self._targets(options["model"])
        totals = {"scanned": 0, "fingerprinted": 0, "errors": 0}
        self.stored_batches = 0
        with worker_pool(options["workers"]) as pool:
            for target in targets:
                progress_line = Progress(
                    partial(self.stderr.write, ending=""),
                    f"{target.model._meta.label}.{target.field_name}",
                    target.images().count(),
                    enabled=not options["no_progress"],
                )
                batches = self._batches(target, options["batch_size"])
                started = (
                    self._start(b, target.field_name, options["force"], pool) for b in batches
                )
                for batch in one_ahead(started):
                    done, errors = self._store_and_check(batch)
                    progress_line.update(batch.size, done, errors)
                    totals["scanned"] += batch.size
                    totals["fingerprinted"] += done
                    totals["errors"] += errors
                progress_line.close()
        self.stdout.write(
            "Scanned {scanned} images: {fingerprinted} fingerprinted, {errors} errors.".format(
                **totals
            )
        )

    @staticmethod
    def _targets(labels: list[str] | None) -> list[Target]:
        try:
            return resolve(labels)
        except UnknownTarget as error:
            raise CommandError(str(error)) from error

    @staticmethod
    def _batches(target: Target, size: int) -> Iterator[list[models.Model]]:
        """Batches by primary-key range: each query starts after the last key seen."""
        queryset = target.images().order_by("pk")
        batch = list(queryset[:size])
        while batch:
            yield batch
            batch = list(queryset.filter(pk__gt=batch[-1].pk)[:size])

    def _start(
        self, batch: list[models.Model], field_name: str, force: bool, pool: Executor | None
    ) -> Started:
        content_type = ContentType.objects.get_for_model(batch[0])
        rows = ImageFingerprint.objects.filter(
            content_type=content_type,
            field_name=field_name,
            object_id__in=[str(obj.pk) for obj in batch],
        ).values_list("object_id", "file_name", "fingerprint_version", "error", "checked_at")
        stored = {object_id: tuple(rest) for object_id, *rest in rows}
        todo = [
            obj
            for obj in batch
            if force or not is_current(stored.get(str(obj.pk)), getattr(obj, field_name).name)
        ]
        return Started(
            content_type,
            field_name,
            len(batch),
            [(str(obj.pk), getattr(obj, field_name).name) for obj in todo],
            self._analyse([getattr(obj, field_name) for obj in todo], pool),
        )

    def _store_and_check(self, batch: Started) -> tuple[int, int]:
        """Store the batch, check each image, then mark the batch checked.

        The planner's statistics are refreshed after the 1st, 2nd, 4th, 8th... batch stored, so
        they follow the index as it doubles (``index.refresh_planner_statistics``).
        """
        analyses = list(batch.analyses)
        if not analyses:
            return 0, 0
        items = [
            (object_id, file_name, analysis)
            for (object_id, file_name), analysis in zip(batch.todo, analyses, strict=True)
        ]
        records = record_batch(batch.content_type, batch.field_name, items)
        self.stored_batches += 1
        if self.stored_batches & (self.stored_batches - 1) == 0:
            refresh_planner_statistics()
        backend = get_backend()
        for record in records:
            check_stored(record, backend)
        mark_checked(records)
        return len(records), sum(1 for analysis in analyses if analysis.error)

    @staticmethod
    def _analyse(field_files: list[Any], pool: Executor | None) -> Iterator[Analysis]:
        """The analyses of ``field_files`` in order, started now in the pool (if any)."""
        sources: list[str | bytes | Analysis] = []
        for field_file in field_files:
            try:
                sources.append(portable_source(field_file))
            except OSError as error:
                sources.append(Analysis(error=f"not_found: {error}"))
        readable = [source for source in sources if not isinstance(source, Analysis)]
        run = partial(analyse, limits=dedup_settings.load_limits())
        # Chunks of a few files: one round trip to a worker per chunk, not per file.
        chunksize = max(1, min(16, len(readable) // 8))
        analysed = pool.map(run, readable, chunksize=chunksize) if pool else map(run, readable)
        return (source if isinstance(source, Analysis) else next(analysed) for source in sources)
