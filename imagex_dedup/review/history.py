"""What a group's merge removed, read back from its merge log for pages that show merged groups:
the deleted duplicates (as recorded, never saved) and their fingerprint records."""

from __future__ import annotations

from typing import Any

from django.core import serializers
from django.db import models

from imagex_dedup.models import DuplicateGroup, ImageFingerprint, MergeLog

_CACHE = "_imagex_dedup_history"


def active_log(group: DuplicateGroup) -> MergeLog | None:
    """The merge of ``group`` that is in effect (not undone), if the group is merged."""
    if group.status != DuplicateGroup.Status.MERGED:
        return None
    return (
        group.merge_logs.filter(undone_at__isnull=True)
        .select_related("keeper_content_type", "performed_by")
        .order_by("-created_at", "-pk")
        .first()
    )


def _history(group: DuplicateGroup) -> dict[str, Any]:
    cached = getattr(group, _CACHE, None)
    if cached is None:
        log = active_log(group)
        objects: dict[str, models.Model] = {}
        records: dict[str, ImageFingerprint] = {}
        if log is not None and log.deleted_duplicates:
            for item in serializers.deserialize("python", log.duplicates, ignorenonexistent=True):
                objects[str(item.object.pk)] = item.object
            for saved in log.fingerprints:
                (item,) = serializers.deserialize("python", [saved["record"]])
                records[item.object.object_id] = item.object
        cached = {"log": log, "objects": objects, "records": records}
        setattr(group, _CACHE, cached)
    return cached


def removed_objects(group: DuplicateGroup) -> dict[str, models.Model]:
    """Object id -> the duplicate the active merge deleted, as it was before."""
    return _history(group)["objects"]


def removed_records(group: DuplicateGroup) -> dict[str, ImageFingerprint]:
    """Object id -> the fingerprint record the active merge deleted with the duplicate."""
    return _history(group)["records"]


def merge_in_effect(group: DuplicateGroup) -> MergeLog | None:
    """:func:`active_log`, read once per group instance."""
    return _history(group)["log"]
