"""The check on upload in DRF: :class:`UploadCheckSerializerMixin` for ``ModelSerializer``
classes of registered models.

A create or update whose new file looks like library images is answered with HTTP 409 and the
matches, and nothing is saved, unless the request says to save anyway with the write-only field
``confirm_duplicate=true`` (``"warn"`` mode only; in ``"block"`` mode a 409 is final). A check
that cannot run never stops the save.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from rest_framework import serializers, status
from rest_framework.exceptions import APIException

from imagex_dedup.hook.registry import get_registration
from imagex_dedup.upload import UploadCheck, UploadMatch, check_upload

CONFIRM_FIELD = "confirm_duplicate"


class DuplicateUpload(APIException):
    """HTTP 409: the upload looks like library images (the body lists them)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "duplicate_upload"

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body["detail"], self.default_code)
        self.detail = body  # as is: scores stay numbers, not strings


def match_body(match: UploadMatch, request: Any) -> dict[str, Any]:
    opts = match.object._meta
    thumbnail = match.thumbnail_url
    return {
        "content_type": f"{opts.app_label}.{opts.model_name}",
        "object_id": str(match.object.pk),
        "field_name": match.record.field_name,
        "object_repr": match.label,
        "score": match.shown_score,
        "admin_url": match.admin_url(),
        "thumbnail_url": request.build_absolute_uri(thumbnail)
        if thumbnail and request
        else thumbnail,
    }


def conflict_body(field: str, result: UploadCheck, request: Any) -> dict[str, Any]:
    """The 409 body: the matches the user may view, and how many others there are."""
    user = getattr(request, "user", None)
    shown = result.visible_matches(user)
    return {
        "detail": _("The uploaded image looks like images already in the library."),
        "code": DuplicateUpload.default_code,
        "field": field,
        "similarity": result.similarity,
        "can_confirm": result.can_confirm,
        "confirm_field": CONFIRM_FIELD if result.can_confirm else None,
        "matches": [match_body(match, request) for match in shown],
        "hidden_matches": len(result.matches) - len(shown),
    }


class UploadCheckSerializerMixin:
    """Put before ``serializers.ModelSerializer`` in the bases of a serializer of a registered
    model. Adds the write-only boolean ``confirm_duplicate``."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # type: ignore[misc]
        fields[CONFIRM_FIELD] = serializers.BooleanField(
            write_only=True,
            required=False,
            default=False,
            help_text="Save even if the upload looks like library images (warn mode).",
        )
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)  # type: ignore[misc]
        confirmed = bool(attrs.pop(CONFIRM_FIELD, False))
        model = self.Meta.model  # type: ignore[attr-defined]
        registration = get_registration(model)
        request = self.context.get("request")  # type: ignore[attr-defined]
        for name in registration.fields if registration else ():
            upload = attrs.get(name)
            if not isinstance(upload, UploadedFile):
                continue
            result = check_upload(upload, model=model, exclude=self.instance)  # type: ignore[attr-defined]
            if result.stops_save(confirmed=confirmed):
                raise DuplicateUpload(conflict_body(name, result, request))
        return attrs
