"""``manage.py dedup_scan``: fingerprint an existing library and link its duplicates.

Signals miss rows that existed before the app was installed, ``bulk_create`` and
``QuerySet.update()``; this command catches up. It walks each registered model in primary-key
order, one batch at a time, skips images whose stored fingerprint is current (same file name,
current fingerprint version, or a recorded error) unless ``--force``, fingerprints the rest in a
process pool (``--workers``), then stores and checks each one exactly as the save hook's task
does. Interrupted runs resume where they stopped, since finished images are current.

The pool runs ``index.analyse`` rather than ``engine.fingerprint_many``: the index also stores
each file's size, dimensions, format and content hash, which ``fingerprint_many`` does not return.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models

from ... import engine
from ...backends import get_backend
from ...index import Analysis, analyse, load_limits, portable_source
from ...models import ImageFingerprint
from ...registry import get_registration, registrations
from ...tasks import record_and_check


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

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1 or options["workers"] < 1:
            raise CommandError("--batch-size and --workers must be at least 1")
        targets = self._targets(options["model"])
        totals = {"scanned": 0, "fingerprinted": 0, "errors": 0}
        with worker_pool(options["workers"]) as pool:
            for model, field_name in targets:
                progress = Progress(
                    partial(self.stderr.write, ending=""),
                    f"{model._meta.label}.{field_name}",
                    self._queryset(model, field_name).count(),
                    enabled=not options["no_progress"],
                )
                for batch in self._batches(model, field_name, options["batch_size"]):
                    done, errors = self._scan(batch, field_name, options["force"], pool)
                    progress.update(len(batch), done, errors)
                    totals["scanned"] += len(batch)
                    totals["fingerprinted"] += done
                    totals["errors"] += errors
                progress.close()
        self.stdout.write(
            "Scanned {scanned} images: {fingerprinted} fingerprinted, {errors} errors.".format(
                **totals
            )
        )

    def _targets(self, labels: list[str] | None) -> list[tuple[type[models.Model], str]]:
        if labels:
            chosen = []
            for label in labels:
                try:
                    model = apps.get_model(label)
                except (LookupError, ValueError) as error:
                    raise CommandError(f"Unknown model {label!r}: {error}") from error
                registration = get_registration(model)
                if registration is None:
                    raise CommandError(f"{label} is not registered with imagex_dedup")
                chosen.append(registration)
        else:
            chosen = list(registrations())
        return [(r.model, field_name) for r in chosen for field_name in r.fields]

    @staticmethod
    def _queryset(model: type[models.Model], field_name: str) -> models.QuerySet:
        return model._default_manager.exclude(**{field_name: ""}).exclude(
            **{f"{field_name}__isnull": True}
        )

    def _batches(
        self, model: type[models.Model], field_name: str, size: int
    ) -> Iterator[list[models.Model]]:
        """Batches by primary-key range: each query starts after the last key seen."""
        queryset = self._queryset(model, field_name).order_by("pk")
        batch = list(queryset[:size])
        while batch:
            yield batch
            batch = list(queryset.filter(pk__gt=batch[-1].pk)[:size])

    def _scan(
        self, batch: list[models.Model], field_name: str, force: bool, pool: Executor | None
    ) -> tuple[int, int]:
        content_type = ContentType.objects.get_for_model(batch[0])
        stored = {
            object_id: (file_name, version, error)
            for object_id, file_name, version, error in ImageFingerprint.objects.filter(
                content_type=content_type,
                field_name=field_name,
                object_id__in=[str(obj.pk) for obj in batch],
            ).values_list("object_id", "file_name", "fingerprint_version", "error")
        }
        todo = [
            obj
            for obj in batch
            if force or not self._current(stored.get(str(obj.pk)), getattr(obj, field_name).name)
        ]
        analyses = self._analyse([getattr(obj, field_name) for obj in todo], pool)
        backend = get_backend()
        for obj, analysis in zip(todo, analyses, strict=True):
            record_and_check(
                content_type,
                str(obj.pk),
                field_name,
                getattr(obj, field_name).name,
                analysis,
                backend,
            )
        return len(todo), sum(1 for analysis in analyses if analysis.error)

    @staticmethod
    def _current(stored: tuple[str, int, str] | None, file_name: str) -> bool:
        if stored is None:
            return False
        stored_name, version, error = stored
        return stored_name == file_name and (version == engine.FINGERPRINT_VERSION or bool(error))

    @staticmethod
    def _analyse(field_files: list[Any], pool: Executor | None) -> list[Analysis]:
        sources: list[str | bytes | Analysis] = []
        for field_file in field_files:
            try:
                sources.append(portable_source(field_file))
            except OSError as error:
                sources.append(Analysis(error=f"not_found: {error}"))
        readable = [source for source in sources if not isinstance(source, Analysis)]
        run = partial(analyse, limits=load_limits())
        analysed = iter(pool.map(run, readable) if pool else map(run, readable))
        return [source if isinstance(source, Analysis) else next(analysed) for source in sources]
