"""Thumbnails of the library images an upload looks like.

The review pages' thumbnails are served per group member to reviewers; an upload's matches need
not be in any group, and the uploader need not be a reviewer. So this view serves the thumbnail
of one indexed image to users who may view (or change) its host model.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from imagex_dedup.conf import dedup_settings
from imagex_dedup.models import ImageFingerprint
from imagex_dedup.review.perms import can_view_host
from imagex_dedup.review.thumbnails import file_thumbnail_response


@require_GET
def upload_thumbnail_view(request: HttpRequest, fingerprint_id: int) -> FileResponse:
    record = get_object_or_404(
        ImageFingerprint.objects.select_related("content_type").defer("fingerprint"),
        pk=fingerprint_id,
    )
    model = record.content_type.model_class()
    if not (request.user.is_authenticated and can_view_host(request.user, model)):
        raise PermissionDenied
    obj = model._base_manager.filter(pk=record.object_id).first() if model else None
    file = getattr(obj, record.field_name, None) if obj is not None else None
    if not isinstance(file, FieldFile) or not file.name:
        raise Http404("No such thumbnail")
    return file_thumbnail_response(file, dedup_settings.thumbnail_size, record.content_hash)
