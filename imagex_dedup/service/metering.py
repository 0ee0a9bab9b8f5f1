"""Metering: input images per accepted request, per service and caller (the cloud bills per
input image). Only requests that produced a result (a sync answer or an accepted async task)
are recorded; refused and timed-out requests are not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from imagex_dedup.models import DetectionService, UsageRecord
from imagex_dedup.service.access import Caller


def record_usage(
    service: DetectionService, caller: Caller, *, action: str, request_id: str, image_count: int
) -> UsageRecord:
    return UsageRecord.objects.create(
        service=service,
        access_key_id=caller.access_key_id,
        user=caller.user,
        action=action,
        request_id=request_id,
        image_count=image_count,
    )


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def usage_summary(service: DetectionService, start: datetime, end: datetime) -> dict[str, Any]:
    """Requests and images of ``service`` in ``[start, end)``, in total and per UTC day."""
    records = UsageRecord.objects.filter(service=service, created_at__gte=start, created_at__lt=end)
    daily = (
        records.annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(requests=Count("pk"), images=Sum("image_count"))
        .order_by("day")
    )
    days = [
        {"Date": row["day"].isoformat(), "Requests": row["requests"], "Images": row["images"]}
        for row in daily
    ]
    return {
        "ServiceId": service.service_id,
        "StartTime": _rfc3339(start),
        "EndTime": _rfc3339(end),
        "Requests": sum(day["Requests"] for day in days),
        "Images": sum(day["Images"] for day in days),
        "Daily": days,
    }
