"""A callback receiver that is slower than CALLBACK_TIMEOUT, or down: every attempt is recorded,
retries are persisted as django-q2 schedules with exponential backoff, and after
CALLBACK_MAX_ATTEMPTS the task shows the final failure (no delivery time, the last error).

The schedules are run here by calling ``deliver_callback`` with their stored arguments, as
django-q2's scheduler would (``test_live`` covers the real scheduler)."""

from __future__ import annotations

import ast
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from django_q.models import Schedule

from imagex_dedup.models import CallbackAttempt, DetectionService, DetectionTask
from imagex_dedup.service.tasks import DELIVER_CALLBACK, deliver_callback
from tests.processes import free_port
from tests.reliability.conftest import serve

pytestmark = [pytest.mark.django_db]

FAST = {"CALLBACK_TIMEOUT": 0.5, "CALLBACK_BACKOFF": 2.0, "CALLBACK_MAX_ATTEMPTS": 4}


@pytest.fixture
def slow_receiver() -> Iterator[tuple[str, list[float]]]:
    """A receiver that answers 200 only after 2 s (beyond the 0.5 s CALLBACK_TIMEOUT)."""
    arrivals: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrivals.append(time.monotonic())
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(2)
            try:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server, _ = serve(Handler)
    yield f"http://127.0.0.1:{server.server_address[1]}/slow", arrivals
    server.shutdown()


def finished_task(callback: str) -> DetectionTask:
    service = DetectionService.objects.create(service_id="svc-cb", allow_private_urls=True)
    return DetectionTask.objects.create(
        kind=DetectionTask.Kind.SERVICE,
        service=service,
        status=DetectionTask.Status.SUCCESS,
        request={"Urls": ["http://127.0.0.1/a.jpg"], "Similarity": 0.84},
        result={"Groups": {}, "FailedUrls": []},
        callback_url=callback,
        finished_at=timezone.now(),
    )


def run_due_retries(task_id: str) -> list[float]:
    """Run every pending callback schedule of ``task_id`` in order; return their delays (s)."""
    delays = []
    while True:
        schedule = Schedule.objects.filter(func=DELIVER_CALLBACK, name__contains=task_id).first()
        if schedule is None:
            return delays
        delays.append((schedule.next_run - timezone.now()).total_seconds())
        args = ast.literal_eval(schedule.args)
        schedule.delete()  # repeats=-1: django-q2 deletes a one-off schedule once it ran
        deliver_callback(*args)


@override_settings(IMAGEX_DEDUP=FAST)
def test_slow_receiver_times_out_every_attempt_then_the_task_shows_the_failure(
    slow_receiver,
) -> None:
    url, arrivals = slow_receiver
    task = finished_task(url)

    deliver_callback(task.task_id, 1)
    delays = run_due_retries(task.task_id)

    attempts = list(CallbackAttempt.objects.filter(task=task).order_by("attempt"))
    assert [a.attempt for a in attempts] == [1, 2, 3, 4]
    assert all(a.status_code is None and a.error.startswith("ReadTimeout") for a in attempts)
    assert all(a.direction == CallbackAttempt.Direction.OUTBOUND for a in attempts)
    assert len(arrivals) == 4  # each attempt reached the receiver
    # Backoff 2, 4, 8 s (minus the time the previous attempt took to time out).
    assert [round(d) for d in delays] == [2, 4, 8]
    task.refresh_from_db()
    assert task.callback_delivered_at is None
    assert not Schedule.objects.exists()  # nothing left pending: the failure is final


@override_settings(IMAGEX_DEDUP=FAST)
def test_receiver_down_then_back_is_delivered_once_by_a_retry() -> None:
    port = free_port()  # nothing listens: connection refused
    task = finished_task(f"http://127.0.0.1:{port}/done")
    deliver_callback(task.task_id, 1)
    deliver_callback(task.task_id, 1)  # a re-delivered message: records a second attempt 1
    assert Schedule.objects.filter(func=DELIVER_CALLBACK).count() == 2

    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run_due_retries(task.task_id)
    finally:
        server.shutdown()
        server.server_close()

    assert [json.loads(body)["TaskId"] for body in received] == [task.task_id]
    task.refresh_from_db()
    assert task.callback_delivered_at is not None
    errors = list(
        CallbackAttempt.objects.filter(task=task).order_by("pk").values_list("attempt", "error")
    )
    assert [attempt for attempt, _ in errors] == [1, 1, 2]
    assert errors[0][1].startswith("ConnectionError") and errors[2][1] == ""
