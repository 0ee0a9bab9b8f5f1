"""The inbound callback view: a detection backend (veImageX or another deployment of this app)
POSTs ``{"Status": 0|1|2, "TaskId": "...", "Result": {...}}`` to
``<mount>/callback/<task_id>/?token=<tokens.make_token(task_id)>``.

CSRF-exempt because it is authenticated instead: the per-task token always, plus the
``X-Imagex-Dedup-Signature`` header when the caller sends one and the task's service has a
``callback_secret``. Answers, checked in this order:

* bad or missing token, or bad signature: 403 (nothing recorded: the caller is unauthenticated);
* unknown task (or a service task: those send callbacks, never receive them): 404;
* body larger than ``CALLBACK_MAX_BODY_BYTES``: 413;
* task already final (success or failed): 200 ``{"status": "already applied"}``, nothing changed;
* body not a JSON object, ``Status`` not 0/1/2, ``TaskId`` not the task's (its ``remote_task_id``
  when the backend gave one, else our ``task_id``), or Status 1 without a ``Result`` holding
  ``Groups`` of lists of strings: 400;
* Status 0: 200 ``{"status": "running"}``; Status 1: the result is applied with
  ``results.apply_result`` (database work only), 200 ``{"status": "applied", "groups": [ids]}``;
  Status 2: the task is marked failed with the error text, 200 ``{"status": "failed"}``.

Every authenticated call for a known task is recorded as a ``CallbackAttempt(direction="in")``.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from imagex_dedup import callback_signing
from imagex_dedup.backends.tokens import verify_token
from imagex_dedup.conf import dedup_settings
from imagex_dedup.db import write_transaction
from imagex_dedup.groups import apply_result
from imagex_dedup.models import CallbackAttempt, DetectionTask

logger = logging.getLogger(__name__)

SIGNATURE_META = "HTTP_" + callback_signing.HEADER.upper().replace("-", "_")


class BadCallback(ValueError):
    """The body is not a valid callback for this task."""


def _answer(status: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"status": message, **extra}, status=status)


def _read_body(request: HttpRequest) -> bytes | None:
    """The body, or ``None`` when it is over ``CALLBACK_MAX_BODY_BYTES`` (or Django's limit)."""
    limit = dedup_settings.callback_max_body_bytes
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
            return None
        body = request.body
    except (ValueError, RequestDataTooBig):
        return None
    return body if len(body) <= limit else None


def _parse(body: bytes, task: DetectionTask) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise BadCallback(f"body is not JSON: {error}") from None  # Recursion: [[[[...]]]]
    if not isinstance(payload, dict):
        raise BadCallback("body must be a JSON object")
    missing = [key for key in ("Status", "TaskId") if key not in payload]
    if missing:
        raise BadCallback(f"missing keys: {', '.join(missing)}")
    status = payload["Status"]
    if isinstance(status, bool) or status not in (0, 1, 2):
        raise BadCallback("Status must be 0, 1 or 2")
    if payload["TaskId"] != (task.remote_task_id or task.task_id):
        raise BadCallback("TaskId does not match this callback URL")
    if status == 1:
        result = payload.get("Result")
        groups = result.get("Groups", {}) if isinstance(result, dict) else None
        if not isinstance(groups, dict) or not all(
            isinstance(ids, list) and all(isinstance(i, str) for i in ids)
            for ids in groups.values()
        ):
            raise BadCallback("Status 1 needs a Result with Groups of lists of strings")
    return payload


def _error_text(payload: dict[str, Any]) -> str:
    detail = payload.get("Error") or payload.get("Result") or "the backend reported a failure"
    return detail if isinstance(detail, str) else json.dumps(detail, sort_keys=True)


def _record(task: DetectionTask, request: HttpRequest, status_code: int, error: str, start: float):
    CallbackAttempt.objects.create(
        task=task,
        direction=CallbackAttempt.Direction.INBOUND,
        attempt=task.callbacks.filter(direction=CallbackAttempt.Direction.INBOUND).count() + 1,
        url=request.build_absolute_uri(request.path)[:2000],
        status_code=status_code,
        error=error[:2000],
        duration_ms=int((time.monotonic() - start) * 1000),
    )


def _signature_ok(task: DetectionTask, request: HttpRequest, body: bytes) -> bool:
    header = request.META.get(SIGNATURE_META)
    secret = task.service.callback_secret if task.service else ""
    if not header or not secret:
        return True
    try:
        callback_signing.verify(secret, body, header)
    except ValueError as error:
        logger.warning("imagex_dedup: callback for %s: bad signature: %s", task.task_id, error)
        return False
    return True


def _handle(task: DetectionTask, payload: dict[str, Any]) -> JsonResponse:
    if payload["Status"] == DetectionTask.Status.RUNNING:
        return _answer(200, "running")
    if payload["Status"] == DetectionTask.Status.FAILED:
        task.status = DetectionTask.Status.FAILED
        task.error = _error_text(payload)
        task.finished_at = timezone.now()
        task.save(update_fields=["status", "error", "finished_at"])
        return _answer(200, "failed")
    groups = apply_result(task, payload["Result"])
    return _answer(200, "applied", groups=[group.pk for group in groups])


@csrf_exempt  # authenticated by the per-task token (and signature) instead
@require_POST
def callback_view(request: HttpRequest, task_id: str) -> JsonResponse:
    start = time.monotonic()
    if not verify_token(task_id, request.GET.get("token", "")):
        return _answer(403, "invalid or expired token")
    with write_transaction():
        task = (
            DetectionTask.objects.select_for_update(of=("self",))
            .select_related("service")
            .filter(task_id=task_id)
            .exclude(kind=DetectionTask.Kind.SERVICE)  # those send callbacks, never receive them
            .first()
        )
        if task is None:
            return _answer(404, "unknown task")
        body = _read_body(request)
        if body is None:
            _record(task, request, 413, "body too large", start)
            return _answer(413, "body too large")
        if not _signature_ok(task, request, body):
            return _answer(403, "invalid signature")
        if task.status != DetectionTask.Status.RUNNING:
            _record(task, request, 200, "already applied", start)
            return _answer(200, "already applied")
        try:
            response = _handle(task, _parse(body, task))
        except BadCallback as error:
            _record(task, request, 400, str(error), start)
            return _answer(400, str(error))
        _record(task, request, response.status_code, "", start)
        return response
