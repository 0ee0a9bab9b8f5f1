"""django-q2 tasks of the service: run an async detection, deliver its callback.

Both take plain arguments (a task id, an attempt number) and re-read the database.

Callback retries are one-off django-q2 ``Schedule`` rows (``next_run`` = now + backoff), not a
sleep loop inside the worker: a schedule lives in the database, so a pending retry survives a
worker restart or a crash and holds no worker while it waits. The price is the scheduler's
resolution: django-q2 looks at schedules about every 30 s, so a retry runs at
``max(backoff, next scheduler tick)``.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any

import requests
from django.utils import timezone

from imagex_dedup import callback_signing
from imagex_dedup.conf import dedup_settings
from imagex_dedup.db import refresh_connections
from imagex_dedup.engine.errors import FetchError
from imagex_dedup.engine.fetch import FetchPolicy, check_url_safe, create_session
from imagex_dedup.models import CallbackAttempt, DetectionService, DetectionTask
from imagex_dedup.scheduling import enqueue
from imagex_dedup.service.detection import detect, failure_code
from imagex_dedup.service.errors import ServiceError
from imagex_dedup.version import USER_AGENT

logger = logging.getLogger(__name__)

RUN_TASK = "imagex_dedup.service.tasks.run_service_task"
DELIVER_CALLBACK = "imagex_dedup.service.tasks.deliver_callback"
# Async runs must end before django-q2 kills the worker (TASK_TIMEOUT) so the task gets a Status.
ASYNC_BUDGET_FRACTION = 0.8
# Refusals that will not change on a retry.
PERMANENT_CALLBACK_ERRORS = frozenset({"invalid_url", "unsafe_url"})


def callback_policy(service: DetectionService | None) -> FetchPolicy:
    """The SSRF guard for callbacks: the fetcher's address rules (no private address unless the
    service allows private URLs); the image host allow-list does not apply."""
    return FetchPolicy(
        timeout=dedup_settings.callback_timeout,
        allow_private=bool(service and service.allow_private_urls),
    )


def task_payload(task: DetectionTask) -> dict[str, Any]:
    """``{"Status", "TaskId", "Result": {...}}`` (+ ``"Error"`` when the task failed): the
    callback body, and the nested part of GetDedupTaskStatus."""
    inner = dict(task.result or {})
    error = inner.pop("Error", None)
    inner.setdefault("Groups", {})
    payload: dict[str, Any] = {"Status": task.status, "TaskId": task.task_id, "Result": inner}
    if error:
        payload["Error"] = error
    return payload


def run_service_task(task_id: str) -> None:
    """Run the detection of an accepted async request, store it, then queue the callback."""
    task = DetectionTask.objects.select_related("service").filter(task_id=task_id).first()
    if task is None or task.status != DetectionTask.Status.RUNNING:
        return  # deleted, or a re-delivered message for a task already done
    request = task.request
    try:
        if task.service is None:
            raise ServiceError("InvalidServiceId", None, request.get("ServiceId", ""))
        task.result = detect(
            request["Urls"],
            float(request["Similarity"]),
            policy=dedup_settings.fetch_policy(task.service),
            budget=dedup_settings.task_timeout * ASYNC_BUDGET_FRACTION,
        )
        task.status = DetectionTask.Status.SUCCESS
    except Exception as exc:
        if not isinstance(exc, ServiceError):
            logger.exception("imagex_dedup: service task %s failed", task_id)
            exc = ServiceError("InternalError")
        task.result = {"Groups": {}, "Error": {"Code": exc.code, "Message": exc.message}}
        task.error = exc.message
        task.status = DetectionTask.Status.FAILED
    refresh_connections()  # the session may have been dropped while the images were fetched
    task.finished_at = timezone.now()
    task.save(update_fields=["result", "error", "status", "finished_at"])
    if task.callback_url:
        enqueue(DELIVER_CALLBACK, task.task_id, 1)


def _post(task: DetectionTask, body: bytes) -> tuple[int | None, str, bool]:
    """POST the body; return (HTTP status or None, error text or "", worth retrying)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    secret = task.service.callback_secret if task.service else ""
    if secret:
        headers[callback_signing.HEADER] = callback_signing.sign(secret, body)
    policy = callback_policy(task.service)
    try:
        check_url_safe(task.callback_url, policy)
        with create_session(policy, pool_size=1) as session:
            response = session.post(
                task.callback_url,
                data=body,
                headers=headers,
                timeout=policy.timeout,
                allow_redirects=False,
            )
            response.close()
    except FetchError as exc:
        retry = exc.code not in PERMANENT_CALLBACK_ERRORS
        return None, f"{failure_code(exc)}: {exc}", retry
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}", True
    if 200 <= response.status_code < 300:
        return response.status_code, "", False
    return response.status_code, f"HTTP {response.status_code}", True


def schedule_callback_retry(task_id: str, attempt: int) -> None:
    """Persist attempt ``attempt`` as a one-off django-q2 schedule after exponential backoff."""
    from django_q.models import Schedule

    delay = dedup_settings.callback_backoff * 2 ** (attempt - 2)
    Schedule.objects.create(
        name=f"imagex_dedup callback {task_id} #{attempt}"[:100],
        func=DELIVER_CALLBACK,
        args=repr((task_id, attempt)),
        schedule_type=Schedule.ONCE,
        repeats=-1,  # delete the schedule once it has run
        next_run=timezone.now() + timedelta(seconds=delay),
    )


def deliver_callback(task_id: str, attempt: int = 1) -> None:
    """POST the task's result to its Callback URL once; record the attempt; schedule a retry
    (up to CALLBACK_MAX_ATTEMPTS) unless it succeeded or can never succeed."""
    task = DetectionTask.objects.select_related("service").filter(task_id=task_id).first()
    if task is None or not task.callback_url or task.callback_delivered_at is not None:
        return
    body = json.dumps(task_payload(task), separators=(",", ":")).encode()
    started = time.monotonic()
    status_code, error, retry = _post(task, body)
    refresh_connections()  # the post may have waited up to CALLBACK_TIMEOUT
    CallbackAttempt.objects.create(
        task=task,
        direction=CallbackAttempt.Direction.OUTBOUND,
        attempt=attempt,
        url=task.callback_url,
        status_code=status_code,
        error=error,
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    if not error:
        task.callback_delivered_at = timezone.now()
        task.save(update_fields=["callback_delivered_at"])
    elif retry and attempt < dedup_settings.callback_max_attempts:
        schedule_callback_retry(task_id, attempt + 1)
    else:
        logger.warning(
            "imagex_dedup: callback of task %s abandoned after attempt %d: %s",
            task_id,
            attempt,
            error,
        )
