"""Async service tasks in bulk: nothing lost, nothing duplicated, every callback delivered.

``--tasks`` (1,000) async GetImageDuplicateDetection requests are accepted through the
service's own code path (``actions.detect_duplicates``: DetectionTask row + django-q2 message),
then a real ``qcluster`` child process with 2 workers drains them (test settings: SQLite and the
django-q2 ORM broker, in a throwaway directory). The callback receiver is down (its port closed)
from the start until ``--down`` seconds (30) after the first callback attempt, so the early
callbacks fail and wait as django-q2 ``Schedule`` rows; it then comes back and must receive
every task exactly once.

Checks, printed at the end: DetectionTask statuses, success deliveries per TaskId (exactly one
each), first attempts per task (exactly one each: a task run twice would deliver twice),
attempts that failed while the receiver was down, schedules left, drain time.

Run: ``.venv/bin/python bench/load_async.py [--tasks 1000] [--down 30] [--timeout 1200]``
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler
from typing import Any

from loadkit import (
    STOP_SECONDS,
    CallbackCounter,
    ProcessCPU,
    free_port,
    load_average,
    serve,
    start_django,
    stop_process,
    throwaway_app,
    write_photo_set,
)

SERVICE_ID, AK, SK = "async-load", "AKasync", "async-secret"


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def accept_tasks(count: int, urls: list[str], per_task: int, callback: str) -> None:
    """``count`` async requests through the service's action (as the API view calls it)."""
    from imagex_dedup.models import AccessKey
    from imagex_dedup.service.access import Caller
    from imagex_dedup.service.actions import detect_duplicates

    caller = Caller(access_key=AccessKey.objects.get(access_key_id=AK))
    rng = random.Random(7)
    for number in range(count):
        body = {"Urls": rng.sample(urls, per_task), "Async": True, "Callback": callback}
        detect_duplicates(
            caller,
            {"ServiceId": SERVICE_ID},
            "application/json",
            json.dumps(body).encode(),
            request_id=f"load{number}",
        )


def pending() -> tuple[int, int]:
    """(tasks not finished, finished tasks whose callback is not delivered)."""
    from imagex_dedup.models import DetectionTask

    tasks = DetectionTask.objects
    return (
        tasks.filter(finished_at__isnull=True).count(),
        tasks.filter(finished_at__isnull=False, callback_delivered_at__isnull=True).count(),
    )


def first_attempt(began: float, timeout: float) -> float:
    """Wait for the first callback attempt (it fails: the receiver is down); its time."""
    from imagex_dedup.models import CallbackAttempt

    while not CallbackAttempt.objects.exists():
        if time.monotonic() - began > timeout:
            raise SystemExit("no callback was attempted")
        time.sleep(0.5)
    return time.monotonic()


def failed_attempts() -> int:
    from imagex_dedup.models import CallbackAttempt

    return CallbackAttempt.objects.exclude(error="").count()


def report(receiver: CallbackCounter, tasks: int, drain: float, cpu: float) -> None:
    from django.db.models import Count
    from django_q.models import Schedule, Task

    from imagex_dedup.models import CallbackAttempt, DetectionTask

    statuses = Counter(DetectionTask.objects.values_list("status", flat=True))
    task_ids = set(DetectionTask.objects.values_list("task_id", flat=True))
    per_task = Counter(receiver.deliveries.values())
    firsts = Counter(
        row["n"]
        for row in CallbackAttempt.objects.filter(attempt=1)
        .values("task_id")
        .annotate(n=Count("id"))
    )
    attempts = CallbackAttempt.objects
    finished = sorted(DetectionTask.objects.values_list("finished_at", flat=True))
    span = (finished[-1] - finished[0]).total_seconds() if len(finished) > 1 else 0.0
    print(f"DetectionTask statuses: {dict(statuses)} (1 = success) of {tasks}")
    print(
        f"callbacks received: {sum(receiver.deliveries.values())} for"
        f" {len(receiver.deliveries)} TaskIds; deliveries per TaskId: {dict(per_task)};"
        f" unknown TaskIds: {len(set(receiver.deliveries) - task_ids)};"
        f" missing: {len(task_ids - set(receiver.deliveries))};"
        f" Status in bodies: {dict(receiver.statuses)}"
    )
    print(
        f"CallbackAttempt rows: {attempts.count()} ({attempts.exclude(error='').count()} failed,"
        f" by attempt number {dict(Counter(attempts.values_list('attempt', flat=True)))});"
        f" first attempts per task: {dict(firsts)}; delivered marks:"
        f" {DetectionTask.objects.filter(callback_delivered_at__isnull=False).count()}"
    )
    print(
        f"schedules left: {Schedule.objects.count()}; django-q2 failed tasks:"
        f" {Task.objects.filter(success=False).count()}"
    )
    print(
        f"drain: {drain:.0f} s until every callback was delivered; detections finished over"
        f" {span:.0f} s = {len(finished) / span if span else 0:.2f} tasks/s;"
        f" qcluster CPU {cpu:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--urls-per-task", type=int, default=2)
    parser.add_argument("--down", type=float, default=30.0, help="receiver down for N s")
    parser.add_argument("--timeout", type=float, default=1200.0, help="give up after N s")
    args = parser.parse_args()

    with throwaway_app("imagex_async_", ignore_cleanup_errors=True) as (workdir, env):
        from imagex_dedup.models import AccessKey, DetectionService

        service = DetectionService.objects.create(
            service_id=SERVICE_ID, allow_private_urls=True, callback_secret="cb-secret"
        )
        AccessKey.objects.create(service=service, access_key_id=AK, secret_access_key=SK)
        images = serve(partial(QuietFiles, directory=str(workdir / "images")))
        urls = [f"{images}/{name}" for name in write_photo_set(workdir / "images")]
        receiver = CallbackCounter(free_port())
        accept_tasks(args.tasks, urls, args.urls_per_task, receiver.url)
        print(
            f"# async: {args.tasks} tasks of {args.urls_per_task} images, qcluster 2 workers,"
            f" receiver down for the first {args.down:.0f} s; load average {load_average()}"
        )

        log = workdir / "qcluster.log"
        cluster = start_django(["qcluster"], env=env, log=log)
        cpu = ProcessCPU(cluster.pid)
        cpu.start()
        began = time.monotonic()
        try:
            first = first_attempt(began, args.timeout)
            while time.monotonic() - first < args.down:
                time.sleep(0.5)
            print(
                f"receiver up {time.monotonic() - began:.0f} s into the drain,"
                f" {args.down:.0f} s after the first callback attempt:"
                f" {failed_attempts()} attempts failed; (unfinished, undelivered) = {pending()}"
            )
            receiver.up()
            while any(pending()):
                if time.monotonic() - began > args.timeout or cluster.poll() is not None:
                    print(f"GAVE UP: pending {pending()}\n{log.read_text()[-3000:]}")
                    break
                time.sleep(1.0)
            drain = time.monotonic() - began
            time.sleep(3.0)  # a late duplicate delivery would arrive now
        finally:
            used = cpu.stop()
            stop_process(cluster, STOP_SECONDS)
            receiver.down()
        report(receiver, args.tasks, drain, used)
        print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
