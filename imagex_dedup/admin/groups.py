"""Review duplicate groups in the admin: merge / dismiss / re-check them, audit and undo merges."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from imagex_dedup.admin import queue
from imagex_dedup.admin.actions import (
    dismiss_groups,
    merge_confirmation,
    merge_groups,
    plan_or_error,
    recheck_groups,
    run_merges,
    undo_merges,
    undo_with_message,
)
from imagex_dedup.admin.base import ReadOnlyAdmin
from imagex_dedup.admin.cards import build_review, group_title, summarize_log
from imagex_dedup.models import (
    DuplicateGroup,
    DuplicateGroupMember,
    MergeLog,
)
from imagex_dedup.review import merge, perms
from imagex_dedup.review.thumbnails import thumbnail_url

LIST_THUMBNAILS = 6


class MemberContentTypeFilter(admin.SimpleListFilter):
    title = _("model")
    parameter_name = "model"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[int, str]]:
        used = DuplicateGroupMember.objects.values("content_type")
        return [(ct.pk, ct.name) for ct in ContentType.objects.filter(pk__in=used)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        members = DuplicateGroupMember.objects.filter(content_type_id=self.value())
        return queryset.filter(pk__in=members.values("group"))


class HostObjectFilter(admin.SimpleListFilter):
    """``?object=<content_type_id>:<object_id>``: the groups of one host object (linked from
    ``DuplicatesAdminMixin.duplicate_groups``); not shown in the sidebar."""

    title = _("object")
    parameter_name = "object"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[Any]:
        return []

    def has_output(self) -> bool:
        return False

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        ct_id, _sep, object_id = (self.value() or "").partition(":")
        if not ct_id.isdigit():
            return queryset
        members = DuplicateGroupMember.objects.filter(content_type_id=ct_id, object_id=object_id)
        return queryset.filter(pk__in=members.values("group"))


def existing_members(members: list[DuplicateGroupMember]) -> list[DuplicateGroupMember]:
    """The members whose host object still exists (one query per content type)."""
    by_type: dict[int, list[DuplicateGroupMember]] = defaultdict(list)
    for member in members:
        by_type[member.content_type_id].append(member)
    alive: set[tuple[int, str]] = set()
    for ct_id, group in by_type.items():
        model = group[0].content_type.model_class()
        if model is None:
            continue
        pk_field = model._meta.pk
        ids = {pk_field.to_python(m.object_id) for m in group}
        found = model._base_manager.filter(pk__in=ids).values_list("pk", flat=True)
        alive |= {(ct_id, str(pk)) for pk in found}
    return [m for m in members if (m.content_type_id, m.object_id) in alive]


@admin.register(DuplicateGroup)
class DuplicateGroupAdmin(admin.ModelAdmin):
    list_display = ["title", "thumbnails", "member_count", "best_score", "status", "created_at"]
    list_display_links = ["title"]
    list_filter = ["status", MemberContentTypeFilter, HostObjectFilter]
    list_per_page = 25
    actions = [merge_groups, dismiss_groups, recheck_groups]
    review_template = "admin/imagex_dedup/duplicategroup/review.html"

    class Media:
        css = {"all": ["imagex_dedup/review.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_merge_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return perms.can_merge(request.user, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[DuplicateGroup]:
        return (
            perms.visible_groups(request.user)
            .annotate(
                member_count=Count("members"),
                best_score=Max("members__score", filter=Q(members__is_primary=False)),
            )
            .prefetch_related(
                "members__content_type", "members__content_object", "members__fingerprint"
            )
        )

    @admin.display(description=_("group"))
    def title(self, group: DuplicateGroup) -> str:
        return group_title(group)

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, group: DuplicateGroup) -> int:
        return group.member_count  # type: ignore[attr-defined]

    @admin.display(description=_("best score"), ordering="best_score")
    def best_score(self, group: DuplicateGroup) -> str:
        score = group.best_score  # type: ignore[attr-defined]
        return "-" if score is None else f"{score:.3f}"

    @admin.display(description=_("images"))
    def thumbnails(self, group: DuplicateGroup) -> str:
        members = list(group.members.all())
        if group.status != DuplicateGroup.Status.OPEN:  # merged duplicates may be gone
            members = existing_members(members)
        members = members[:LIST_THUMBNAILS]
        return format_html(
            "<div class='imagex-thumbs'>{}</div>",
            format_html_join(
                "",
                "<img src='{}' alt='{}' loading='lazy' class='imagex-thumb'>",
                ((thumbnail_url(m), str(m)) for m in members),
            ),
        )

    # --- the review page and its buttons ----------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("queue/", wrap(self.queue_view), name="imagex_dedup_duplicategroup_queue"),
            path("policy/", wrap(self.policy_view), name="imagex_dedup_duplicategroup_policy"),
            path(
                "<int:pk>/merge/", wrap(self.merge_view), name="imagex_dedup_duplicategroup_merge"
            ),
            path(
                "<int:pk>/dismiss/",
                wrap(self.dismiss_view),
                name="imagex_dedup_duplicategroup_dismiss",
            ),
            path(
                "<int:pk>/recheck/",
                wrap(self.recheck_view),
                name="imagex_dedup_duplicategroup_recheck",
            ),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_merge": self.has_merge_permission(request)}
        return super().changelist_view(request, extra_context)

    def queue_view(self, request: HttpRequest) -> HttpResponse:
        return queue.queue_view(self, request)

    def policy_view(self, request: HttpRequest) -> HttpResponse:
        return queue.policy_view(self, request)

    def _group(self, request: HttpRequest, pk: int | str) -> DuplicateGroup:
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The review page replaces the edit form: members side by side, large enough to judge,
        with what differs and where each is used."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        group = self._group(request, object_id)
        review_context = self.review_context(request, group)
        context = {
            **review_context,
            "title": review_context["review"].title,
            "logs": group.merge_logs.select_related("performed_by"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.review_template, context)

    def review_context(self, request: HttpRequest, group: DuplicateGroup) -> dict[str, Any]:
        """What the review page and a review queue step share."""
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": group,
            "group": group,
            "review": build_review(group, self.admin_site),
            "can_merge": self.has_merge_permission(request, group),
            "can_change": self.has_change_permission(request, group),
            "media": self.media,
        }

    def merge_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Confirm and run the merge of one group (``?keeper=<member id>`` from "Keep this one")."""
        if not self.has_merge_permission(request):
            raise PermissionDenied
        group = self._group(request, pk)
        if not self.has_merge_permission(request, group):
            raise PermissionDenied
        keeper_id = request.POST.get("keeper") or request.GET.get("keeper")
        keeper = get_object_or_404(group.members, pk=keeper_id) if keeper_id else None
        review_url = reverse("admin:imagex_dedup_duplicategroup_change", args=[group.pk])
        if request.method == "POST" and request.POST.get("post") == "yes":
            run_merges(request, [(group, keeper)])
            return HttpResponseRedirect(review_url)
        rows = [plan_or_error(group, keeper, self.admin_site)]
        return merge_confirmation(request, self, rows, bulk=False)

    def _changeable_group(self, request: HttpRequest, pk: int) -> DuplicateGroup:
        """The group behind a POST-only button that needs the change permission."""
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        return self._group(request, pk)

    def dismiss_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        group = self._changeable_group(request, pk)
        try:
            merge.dismiss_group(group, user=request.user)
        except merge.MergeConflict as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("%s dismissed as not duplicates.") % group_title(group))
        return HttpResponseRedirect(reverse("admin:imagex_dedup_duplicategroup_change", args=[pk]))

    def recheck_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        group = self._changeable_group(request, pk)
        count = merge.recheck_members(group.members.select_related("content_type"))
        messages.success(request, _("%d checks queued.") % count)
        return HttpResponseRedirect(reverse("admin:imagex_dedup_duplicategroup_change", args=[pk]))


@admin.register(MergeLog)
class MergeLogAdmin(ReadOnlyAdmin):
    """Merge logs read as what happened, can be undone, and are never deleted here: deleting
    one would silently take away the only way back."""

    list_display = [
        "__str__",
        "group_link",
        "change_count",
        "deleted_duplicates",
        "performed_by",
        "created_at",
        "undone_at",
    ]
    list_filter = ["deleted_duplicates", ("undone_at", admin.EmptyFieldListFilter)]
    list_select_related = ["group", "keeper_content_type", "performed_by"]
    actions = [undo_merges]
    summary_template = "admin/imagex_dedup/mergelog/summary.html"
    undo_template = "admin/imagex_dedup/mergelog/undo_confirmation.html"

    class Media:
        css = {"all": ["imagex_dedup/review.css"]}

    def has_merge_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return perms.can_merge(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("changes"))
    def change_count(self, log: MergeLog) -> int:
        return len(log.changes)

    @admin.display(description=_("group"))
    def group_link(self, log: MergeLog) -> str:
        if log.group_id is None:
            return "-"
        url = reverse("admin:imagex_dedup_duplicategroup_change", args=[log.group_id])
        return format_html("<a href='{}'>{}</a>", url, _("group #%d") % log.group_id)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/undo/", wrap(self.undo_view), name="imagex_dedup_mergelog_undo"),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, log: MergeLog) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": log,
            "summary": summarize_log(log, self.admin_site),
            "can_undo": log.undone_at is None and self.has_merge_permission(request),
            "media": self.media,
        }

    def _log(self, request: HttpRequest, pk: int | str) -> MergeLog:
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """What the merge did, in words, with the undo button (no raw JSON, no Delete)."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        log = self._log(request, object_id)
        context = {**self._context(request, log), "title": _("Merge log #%d") % log.pk}
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.summary_template, context)

    def undo_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Confirm, then undo one merge (linked from the group page and the merge log page)."""
        if not self.has_merge_permission(request):
            raise PermissionDenied
        log = self._log(request, pk)
        if request.method == "POST" and request.POST.get("post") == "yes":
            undo_with_message(request, log)
            if log.group_id is not None:
                return HttpResponseRedirect(
                    reverse("admin:imagex_dedup_duplicategroup_change", args=[log.group_id])
                )
            return HttpResponseRedirect(reverse("admin:imagex_dedup_mergelog_change", args=[pk]))
        context = {**self._context(request, log), "title": _("Undo merge #%d?") % log.pk}
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.undo_template, context)
