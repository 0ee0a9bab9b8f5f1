"""REST views of the review API: groups (+ merge, dismiss, re-check), merge logs (+ undo),
synchronous checks of uploads/URLs, and detection task status.

Views are thin: the work is done by :mod:`imagex_dedup.review.merge` (through the configured
``MERGE_HANDLER``) and :mod:`imagex_dedup.api.checking`. Override the ``get_*`` hooks to change
one piece (handler, queryset, serializer) without rewriting a view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import RetrieveAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from imagex_dedup.api import checking
from imagex_dedup.api.parsers import JSONParser
from imagex_dedup.api.permissions import GroupPermission, MergeLogPermission
from imagex_dedup.api.serializers import (
    CheckRequestSerializer,
    CheckResultSerializer,
    GroupDetailSerializer,
    GroupSerializer,
    MergeLogSerializer,
    MergeRequestSerializer,
    TaskSerializer,
)
from imagex_dedup.apidocs import SCHEMA, extend_schema
from imagex_dedup.models import DetectionTask, DuplicateGroup, DuplicateGroupMember, MergeLog
from imagex_dedup.review import merge, perms, thumbnails


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def conflict_response(exc: merge.MergeConflict) -> Response:
    return Response({"detail": str(exc), "problems": exc.problems}, status=status.HTTP_409_CONFLICT)


CONFLICT = OpenApiResponse(description="MergeConflict: nothing was changed")


class DuplicateGroupViewSet(viewsets.ReadOnlyModelViewSet):
    """Duplicate groups, filterable by ``status`` and member ``content_type``
    (``app_label.model`` or a content type id)."""

    schema = SCHEMA
    permission_classes = [GroupPermission]
    pagination_class = Pagination

    def get_serializer_class(self) -> type:
        return GroupSerializer if self.action == "list" else GroupDetailSerializer

    def get_queryset(self) -> QuerySet[DuplicateGroup]:
        queryset = perms.visible_groups(self.request.user)
        params = self.request.query_params
        if params.get("status"):
            if params["status"] not in DuplicateGroup.Status.values:
                raise ValidationError(
                    {"status": f"Must be one of {', '.join(DuplicateGroup.Status.values)}."}
                )
            queryset = queryset.filter(status=params["status"])
        if params.get("content_type"):
            members = DuplicateGroupMember.objects.filter(
                content_type_filter(params["content_type"])
            )
            queryset = queryset.filter(pk__in=members.values("group"))
        return (
            queryset.annotate(
                member_count=Count("members"),
                best_score=Max("members__score", filter=Q(members__is_primary=False)),
            )
            .order_by("-created_at", "-pk")
            .prefetch_related(
                "members__content_type", "members__fingerprint", "members__content_object"
            )
        )

    def get_merge_handler(self) -> Callable[..., MergeLog]:
        return merge.get_merge_handler()

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=[s.value for s in DuplicateGroup.Status]),
            OpenApiParameter("content_type", str, description="app_label.model or id"),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=MergeRequestSerializer,
        responses={200: MergeLogSerializer, 409: CONFLICT},
        description="Merge the group into one keeper (a member id, or the keeper rule).",
    )
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        group = self.get_object()
        body = MergeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        keeper = None
        if "keeper" in body.validated_data:
            keeper = group.members.filter(pk=body.validated_data["keeper"]).first()
            if keeper is None:
                raise ValidationError({"keeper": "Not a member of this group."})
        try:
            log = self.get_merge_handler()(group, keeper, user=request.user)
        except merge.MergeConflict as exc:
            return conflict_response(exc)
        return Response(MergeLogSerializer(log, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={200: GroupDetailSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Mark the members as not duplicates of each other."""
        try:
            merge.dismiss_group(self.get_object(), user=request.user)
        except merge.MergeConflict as exc:
            return conflict_response(exc)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=None,
        responses={202: OpenApiResponse(description='{"enqueued": <number of checks>}')},
    )
    @action(detail=True, methods=["post"])
    def recheck(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Queue a fresh duplicate check of every member."""
        count = merge.recheck_members(self.get_object().members.select_related("content_type"))
        return Response({"enqueued": count}, status=status.HTTP_202_ACCEPTED)


def content_type_filter(value: str) -> Q:
    """Members of a content type given as ``app_label.model`` or as an id."""
    if value.isdigit():
        return Q(content_type_id=int(value))
    app_label, _, model = value.lower().partition(".")
    return Q(content_type__app_label=app_label, content_type__model=model)


class MergeLogViewSet(viewsets.ReadOnlyModelViewSet):
    """What merges did; ``undo`` puts a merge back."""

    schema = SCHEMA
    permission_classes = [MergeLogPermission]
    pagination_class = Pagination
    serializer_class = MergeLogSerializer

    def get_queryset(self) -> QuerySet[MergeLog]:
        visible = perms.visible_groups(self.request.user).values("pk")
        return MergeLog.objects.filter(group__in=visible).select_related(
            "keeper_content_type", "performed_by", "undone_by"
        )

    @extend_schema(request=None, responses={200: MergeLogSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        try:
            log = merge.undo_merge(self.get_object(), user=request.user)
        except merge.MergeConflict as exc:
            return conflict_response(exc)
        return Response(self.get_serializer(log).data)


class IgnoreAccept(BaseContentNegotiation):
    """Image responses are JPEG whatever the client accepts (DRF would answer 406 to
    ``Accept: image/*``, since the API's renderers only speak JSON)."""

    def select_parser(self, request: Request, parsers: list) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: list, format_suffix: str | None = None
    ) -> tuple:
        return renderers[0], renderers[0].media_type


class MemberImageView(APIView):
    """A member's thumbnail (``?size=preview``: the large preview) as JPEG, with the REST API's
    authentication; for users who may review the member's group."""

    permission_classes = [GroupPermission]
    content_negotiation_class = IgnoreAccept
    schema = SCHEMA

    @extend_schema(
        parameters=[OpenApiParameter("size", str, enum=list(thumbnails.SIZES))],
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, member_id: int, **kwargs: Any) -> FileResponse:
        size = request.query_params.get("size", "thumb")
        return thumbnails.thumbnail_response(
            thumbnails.visible_member(request.user, member_id), size
        )


class CheckView(APIView):
    """Check images for duplicates of each other, synchronously: multipart ``files`` or a JSON
    ``urls`` list, optional ``similarity``. Users who may review groups also get matches from
    the site's library for each image."""

    schema = SCHEMA
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request=CheckRequestSerializer, responses={200: CheckResultSerializer})
    def post(self, request: Request) -> Response:
        data: Any = request.data
        if hasattr(data, "getlist"):  # multipart: repeated "files" / "urls" fields
            data = {k: data.getlist(k) if k in {"files", "urls"} else data.get(k) for k in data}
        body = CheckRequestSerializer(data=data)
        body.is_valid(raise_exception=True)
        params = body.validated_data
        if params.get("files"):
            sources = [f.name for f in params["files"]]
            bodies: list[Any] = [read_upload(f) for f in params["files"]]
        else:
            sources = params["urls"]
            bodies = checking.fetch_urls(sources)
        reviewer = request.user if perms.can_view(request.user) else None
        result = checking.check_images(sources, bodies, params["similarity"], library_user=reviewer)
        return Response(result)


def read_upload(upload: Any) -> bytes:
    upload.seek(0)
    return upload.read()


class TaskStatusView(RetrieveAPIView):
    """Status of a detection task, for the user who started it or staff."""

    schema = SCHEMA
    permission_classes = [IsAuthenticated]
    serializer_class = TaskSerializer
    lookup_field = "task_id"

    def get_queryset(self) -> QuerySet[DetectionTask]:
        user = self.request.user
        tasks = DetectionTask.objects.all()
        return tasks if user.is_staff else tasks.filter(created_by=user)
