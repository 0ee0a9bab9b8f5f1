"""The service's actions, each returning the ``Result`` object of its response.

A request is validated completely (parameters, service, access, callback address) before
anything is written, so a refused request leaves no DetectionTask and no UsageRecord.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from imagex_dedup.conf import dedup_settings
from imagex_dedup.engine.errors import FetchError
from imagex_dedup.engine.fetch import check_url_safe
from imagex_dedup.models import DetectionTask
from imagex_dedup.scheduling import enqueue
from imagex_dedup.service import params
from imagex_dedup.service.access import Caller, get_service, visible_tasks
from imagex_dedup.service.detection import detect
from imagex_dedup.service.errors import ServiceError
from imagex_dedup.service.metering import record_usage, usage_summary
from imagex_dedup.service.tasks import RUN_TASK, callback_policy, task_payload


def detect_duplicates(
    caller: Caller, query: Mapping[str, str], content_type: str, body: bytes, *, request_id: str
) -> dict[str, Any]:
    """GetImageDuplicateDetection: the sync Result, or ``{"TaskId", "Callback"}`` when Async."""
    request = params.parse_detection(
        query, content_type, body, max_urls=dedup_settings.max_urls_per_request
    )
    service = get_service(caller, request.service_id, params.DETECT)
    similarity = request.similarity
    if similarity is None:
        similarity = Decimal(str(service.default_similarity)).quantize(Decimal("0.01"))
    if request.is_async:
        try:
            check_url_safe(request.callback, callback_policy(service))
        except FetchError as exc:
            raise ServiceError("InvalidParameter", f"Callback is refused: {exc}") from None
        with transaction.atomic():
            task = DetectionTask.objects.create(
                kind=DetectionTask.Kind.SERVICE,
                service=service,
                request={**request.as_json(similarity), "RequestId": request_id},
                callback_url=request.callback,
                created_by=caller.user,
            )
            record_usage(
                service,
                caller,
                action=params.DETECT,
                request_id=request_id,
                image_count=len(request.urls),
            )
            enqueue(RUN_TASK, task.task_id)
        return {"TaskId": task.task_id, "Callback": request.callback}
    result = detect(
        request.urls,
        float(similarity),
        policy=dedup_settings.fetch_policy(service),
        budget=dedup_settings.sync_time_budget,
    )
    record_usage(
        service, caller, action=params.DETECT, request_id=request_id, image_count=len(request.urls)
    )
    return result


def task_status(caller: Caller, query: Mapping[str, str]) -> dict[str, Any]:
    """GetDedupTaskStatus: the documented nested ``Result`` plus the flat fields newer SDKs read."""
    task_id = params.parse_task_id(query)
    task = visible_tasks(caller).filter(task_id=task_id).first()
    if task is None:
        raise ServiceError("TaskNotFound", None, task_id)
    payload = task_payload(task)
    return {**payload["Result"], **payload}


def usage(caller: Caller, query: Mapping[str, str]) -> dict[str, Any]:
    """GetDedupUsage (imagex_dedup extension): requests and input images of one service."""
    request = params.parse_usage(query, now=timezone.now())
    service = get_service(caller, request.service_id, params.USAGE)
    return usage_summary(service, request.start, request.end)
