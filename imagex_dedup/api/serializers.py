"""Serializers of the review REST API (groups, members, merge logs, checks, tasks)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from imagex_dedup.conf import dedup_settings
from imagex_dedup.models import (
    DetectionTask,
    DuplicateGroup,
    DuplicateGroupMember,
    ImageFingerprint,
    MergeLog,
)
from imagex_dedup.review.history import removed_records
from imagex_dedup.review.keeper import choose_keeper
from imagex_dedup.review.thumbnails import member_file
from imagex_dedup.review.usage import usage_of


class MemberSerializer(serializers.ModelSerializer):
    content_type = serializers.SerializerMethodField()
    exists = serializers.SerializerMethodField()
    object_repr = serializers.SerializerMethodField()
    admin_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()
    width = serializers.SerializerMethodField()
    height = serializers.SerializerMethodField()
    byte_size = serializers.SerializerMethodField()
    format = serializers.SerializerMethodField()
    used_in = serializers.SerializerMethodField(
        help_text="Relations that refer to the object and how many rows each (group detail only)"
    )

    class Meta:
        model = DuplicateGroupMember
        fields = [
            "id",
            "content_type",
            "object_id",
            "field_name",
            "score",
            "is_primary",
            "exists",
            "object_repr",
            "admin_url",
            "width",
            "height",
            "byte_size",
            "format",
            "thumbnail_url",
            "preview_url",
            "used_in",
        ]

    def _record(self, member: DuplicateGroupMember) -> ImageFingerprint | None:
        """The member's fingerprint record; for a duplicate a merge deleted, the record as the
        merge log kept it."""
        if member.fingerprint is not None:
            return member.fingerprint
        return removed_records(member.group).get(member.object_id)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_width(self, member: DuplicateGroupMember) -> int | None:
        record = self._record(member)
        return record.width if record else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_height(self, member: DuplicateGroupMember) -> int | None:
        record = self._record(member)
        return record.height if record else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_byte_size(self, member: DuplicateGroupMember) -> int | None:
        record = self._record(member)
        return record.byte_size if record else None

    def get_format(self, member: DuplicateGroupMember) -> str:
        record = self._record(member)
        return record.format if record else ""

    @extend_schema_field(serializers.ListField(child=serializers.DictField(), allow_null=True))
    def get_used_in(self, member: DuplicateGroupMember) -> list[dict[str, Any]] | None:
        usages = self.context.get("usages")
        if usages is None or member.content_object is None:
            return None
        return [
            {"relation": u.label, "count": u.count}
            for u in usages.get((member.content_type_id, member.object_id), [])
        ]

    def get_content_type(self, member: DuplicateGroupMember) -> str:
        return f"{member.content_type.app_label}.{member.content_type.model}"

    def get_exists(self, member: DuplicateGroupMember) -> bool:
        return member.content_object is not None

    def get_object_repr(self, member: DuplicateGroupMember) -> str:
        obj = member.content_object
        return str(obj) if obj is not None else ""

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_admin_url(self, member: DuplicateGroupMember) -> str | None:
        if member.content_object is None:
            return None
        ct = member.content_type
        try:
            return reverse(f"admin:{ct.app_label}_{ct.model}_change", args=[member.object_id])
        except NoReverseMatch:
            return None

    def _url(self, member: DuplicateGroupMember, kind: str) -> str | None:
        """The API's own image endpoint: it accepts the same authentication as this API."""
        if member_file(member) is None:
            return None
        url = reverse("imagex_dedup:api-member-image", args=[member.pk])
        url = url if kind == "thumb" else f"{url}?size={kind}"
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_thumbnail_url(self, member: DuplicateGroupMember) -> str | None:
        return self._url(member, "thumb")

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_preview_url(self, member: DuplicateGroupMember) -> str | None:
        return self._url(member, "preview")


class GroupSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True)
    best_score = serializers.FloatField(read_only=True, allow_null=True)
    resolved_by = serializers.StringRelatedField()

    class Meta:
        model = DuplicateGroup
        fields = [
            "id",
            "status",
            "similarity",
            "backend",
            "member_count",
            "best_score",
            "created_at",
            "updated_at",
            "resolved_at",
            "resolved_by",
        ]


class GroupDetailSerializer(GroupSerializer):
    members = MemberSerializer(many=True, read_only=True)
    keeper = serializers.SerializerMethodField(help_text="Member the keeper rule picks")

    class Meta(GroupSerializer.Meta):
        fields = [*GroupSerializer.Meta.fields, "keeper", "members"]

    def to_representation(self, group: DuplicateGroup) -> dict[str, Any]:
        """Where each member is used, counted for all members at once."""
        self.context["usages"] = member_usages(group.members.all())
        return super().to_representation(group)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_keeper(self, group: DuplicateGroup) -> int | None:
        if group.status != DuplicateGroup.Status.OPEN:
            return None
        try:
            return choose_keeper(group).pk
        except DuplicateGroupMember.DoesNotExist:
            return None


def member_usages(members: Any) -> dict[tuple[int, str], list[Any]]:
    """(content type id, object id) -> usages of the existing members' objects."""
    by_model: dict[type, list[DuplicateGroupMember]] = defaultdict(list)
    for member in members:
        if member.content_object is not None:
            by_model[type(member.content_object)._meta.concrete_model].append(member)
    found: dict[tuple[int, str], list[Any]] = {}
    for same_model in by_model.values():
        usages = usage_of([m.content_object for m in same_model])
        for m in same_model:
            found[(m.content_type_id, m.object_id)] = usages.get(m.content_object.pk, [])
    return found


class MergeRequestSerializer(serializers.Serializer):
    keeper = serializers.IntegerField(
        required=False, help_text="Member id to keep (default: the keeper rule)"
    )


class MergeLogSerializer(serializers.ModelSerializer):
    keeper = serializers.SerializerMethodField()
    performed_by = serializers.StringRelatedField()
    undone_by = serializers.StringRelatedField()

    class Meta:
        model = MergeLog
        fields = [
            "id",
            "group",
            "keeper",
            "changes",
            "duplicates",
            "deleted_duplicates",
            "deleted_files",
            "performed_by",
            "created_at",
            "undone_at",
            "undone_by",
        ]

    def get_keeper(self, log: MergeLog) -> dict[str, Any]:
        ct = log.keeper_content_type
        return {"content_type": f"{ct.app_label}.{ct.model}", "object_id": log.keeper_object_id}


class CheckRequestSerializer(serializers.Serializer):
    """Either ``files`` (multipart) or ``urls`` (JSON), not both."""

    files = serializers.ListField(child=serializers.ImageField(), required=False)
    urls = serializers.ListField(child=serializers.URLField(max_length=2000), required=False)
    similarity = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        items = attrs.get("files") or attrs.get("urls") or []
        if bool(attrs.get("files")) == bool(attrs.get("urls")):
            raise serializers.ValidationError("Send either files or urls.")
        limit = dedup_settings.api_check_max_images
        if len(items) > limit:
            raise serializers.ValidationError(f"At most {limit} images per check.")
        for upload in attrs.get("files") or []:
            if upload.size > dedup_settings.max_image_bytes:
                raise serializers.ValidationError(f"{upload.name} is too large.")
        attrs.setdefault("similarity", dedup_settings.similarity)
        return attrs


class CheckImageSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    source = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    format = serializers.CharField(allow_blank=True)
    byte_size = serializers.IntegerField(allow_null=True)
    content_hash = serializers.CharField(allow_blank=True)
    error = serializers.DictField(allow_null=True)
    matches = serializers.ListField(child=serializers.DictField())


class CheckResultSerializer(serializers.Serializer):
    score = serializers.FloatField(required=False, help_text="Only when exactly two images")
    groups = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()))
    images = CheckImageSerializer(many=True)


class TaskSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="get_status_display")
    status_code = serializers.IntegerField(source="status")

    class Meta:
        model = DetectionTask
        fields = [
            "task_id",
            "kind",
            "backend",
            "status",
            "status_code",
            "result",
            "error",
            "created_at",
            "finished_at",
        ]
