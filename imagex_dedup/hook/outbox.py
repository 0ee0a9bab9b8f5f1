"""The ``PendingCheck`` outbox: one row per saved image whose check has not finished.

The save hook writes the row in the host's transaction (a savepoint, so a failure here never
breaks the host's save), the check deletes it when it is done. A row still there at its
``due_at`` means the check was lost (its message died with a worker or a broker restart): the
catch-up enqueues it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from imagex_dedup.models import PendingCheck
from imagex_dedup.scheduling import lost_after


def note_saved(content_type_id: int, object_id: str, field_name: str, using: str) -> None:
    """Record (or refresh) the pending check of one image: one ``INSERT ... ON CONFLICT``."""
    now = timezone.now()
    row = PendingCheck(
        content_type_id=content_type_id,
        object_id=object_id,
        field_name=field_name,
        saved_at=now,
        due_at=now + lost_after(),
        attempts=0,
    )
    with transaction.atomic(using=using):
        PendingCheck.objects.using(using).bulk_create(
            [row],
            update_conflicts=True,
            unique_fields=["content_type", "object_id", "field_name"],
            update_fields=["saved_at", "due_at", "attempts"],
        )


def clear(refs: Iterable[tuple[int, str, str]], started: datetime) -> int:
    """Delete the pending checks of ``refs`` (``(content_type_id, object_id, field_name)``)
    saved before the check started at ``started``; a later save keeps its row."""
    deleted = 0
    by_field: dict[tuple[int, str], list[str]] = {}
    for content_type_id, object_id, field_name in refs:
        by_field.setdefault((content_type_id, field_name), []).append(object_id)
    for (content_type_id, field_name), object_ids in by_field.items():
        deleted += PendingCheck.objects.filter(
            content_type_id=content_type_id,
            field_name=field_name,
            object_id__in=object_ids,
            saved_at__lte=started,
        ).delete()[0]
    return deleted


def due(now: datetime, limit: int) -> list[PendingCheck]:
    """Pending checks past their ``due_at``, oldest first (the ``due_at`` index)."""
    return list(
        PendingCheck.objects.filter(due_at__lte=now)
        .select_related("content_type")
        .order_by("due_at")[:limit]
    )
