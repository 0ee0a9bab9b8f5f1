"""Read-only admins of the detection records: fingerprints, tasks with their callbacks, usage."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from imagex_dedup.admin.base import ReadOnlyAdmin
from imagex_dedup.models import (
    CallbackAttempt,
    DetectionTask,
    ImageFingerprint,
    UsageRecord,
)


@admin.register(ImageFingerprint)
class ImageFingerprintAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "width",
        "height",
        "format",
        "byte_size",
        "computed_at",
        "checked_at",
        "error",
    ]
    list_filter = ["format", "content_type"]
    search_fields = ["object_id", "file_name", "content_hash"]
    exclude = ["fingerprint"]


class CallbackAttemptInline(admin.TabularInline):
    model = CallbackAttempt
    extra = 0
    can_delete = False
    fields = ["direction", "attempt", "url", "status_code", "error", "duration_ms", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DetectionTask)
class DetectionTaskAdmin(ReadOnlyAdmin):
    list_display = ["task_id", "kind", "backend", "status", "service", "created_at", "finished_at"]
    list_filter = ["status", "kind", "backend"]
    search_fields = ["task_id", "remote_task_id"]
    inlines = [CallbackAttemptInline]


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "service", "access_key_id", "user", "image_count"]
    list_filter = ["action", "service"]
    date_hierarchy = "created_at"
