"""Admin actions on duplicate groups: merge, dismiss, re-check, and undo merges.

Every action checks permissions twice: Django filters actions by ``permissions=[...]`` (which
calls ``has_<perm>_permission`` on the ModelAdmin), and merging re-checks per group because it
also needs ``delete`` on the host model (see :mod:`imagex_dedup.review.perms`).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from imagex_dedup.admin.cards import group_title, tile
from imagex_dedup.models import DuplicateGroup, DuplicateGroupMember, MergeLog
from imagex_dedup.review import merge, perms
from imagex_dedup.review.usage import reference_usage

CHECK_TASK = "imagex_dedup.hook.tasks.check_object"
MERGE_TEMPLATE = "admin/imagex_dedup/duplicategroup/merge_confirmation.html"


# --- merging (shared by the bulk action and the "keep this one" page) ---------------------------


def plan_or_error(
    group: DuplicateGroup, keeper: DuplicateGroupMember | None, site: admin.AdminSite
) -> dict[str, Any]:
    """One group on the confirmation page: its plan in words and pictures (the keeper, the
    duplicates, the objects whose references move), or why it cannot be merged."""
    row: dict[str, Any] = {"group": group, "title": group_title(group), "plan": None}
    try:
        plan = merge.plan_merge(group, keeper)
    except merge.MergeConflict as exc:
        return {**row, "problems": exc.problems}
    members = {m.object_id: m for m in group.members.select_related("content_type")}
    return {
        **row,
        "plan": plan,
        "problems": plan.conflicts,
        "keeper": tile(plan.keeper_member, plan.keeper, site),
        "duplicates": [
            tile(members[str(dup.pk)], dup, site)
            for dup in plan.duplicates
            if str(dup.pk) in members
        ],
        "changes": [
            {
                "usage": reference_usage(ref, [pk for pk, _ in ref.moves], site),
                "dropped": len(ref.drops),
                "kind": ref.kind,
            }
            for ref in plan.references
        ],
    }


def merged_message(group: DuplicateGroup, log: MergeLog) -> str:
    keeper = log.keeper_content_type.get_object_for_this_type(pk=log.keeper_object_id)
    url = reverse("admin:imagex_dedup_mergelog_change", args=[log.pk])
    count = len(log.duplicates)
    removed = (
        ngettext("removed %d duplicate", "removed %d duplicates", count)
        if log.deleted_duplicates
        else ngettext("%d duplicate kept, flagged", "%d duplicates kept, flagged", count)
    ) % count
    return format_html(
        _("Merged {}: kept “{}”, {} (<a href='{}'>merge log #{}</a>)."),
        group_title(group),
        keeper,
        removed,
        url,
        log.pk,
    )


def run_merges(
    request: HttpRequest, groups: list[tuple[DuplicateGroup, DuplicateGroupMember | None]]
) -> int:
    """Merge each group through ``MERGE_HANDLER``; report every outcome as a message."""
    handler = merge.get_merge_handler()
    done = 0
    for group, keeper in groups:
        title = group_title(group)
        if not perms.can_merge(request.user, group):
            messages.error(request, _("You may not merge %(group)s.") % {"group": title})
            continue
        try:
            log = handler(group, keeper, user=request.user)
        except merge.MergeConflict as exc:
            messages.error(
                request, _("%(group)s was not merged: %(why)s") % {"group": title, "why": exc}
            )
            continue
        done += 1
        messages.success(request, merged_message(group, log))
    return done


def merge_confirmation(
    request: HttpRequest,
    modeladmin: admin.ModelAdmin,
    rows: list[dict[str, Any]],
    *,
    bulk: bool,
) -> TemplateResponse:
    """The intermediate page (like ``delete_selected``): what each merge re-points and deletes."""
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Merge duplicates: are you sure?"),
        "opts": opts,
        "rows": rows,
        "mergeable": [row for row in rows if row["plan"] and not row["problems"]],
        "bulk": bulk,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, MERGE_TEMPLATE, context)


@admin.action(description=_("Merge selected groups (keeper rule)"), permissions=["merge"])
def merge_groups(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[DuplicateGroup]
) -> HttpResponse | None:
    groups = list(queryset)
    if request.POST.get("post") == "yes":
        run_merges(request, [(group, None) for group in groups])
        return None
    rows = [plan_or_error(group, None, modeladmin.admin_site) for group in groups]
    return merge_confirmation(request, modeladmin, rows, bulk=True)


@admin.action(description=_("Dismiss selected groups as not duplicates"), permissions=["change"])
def dismiss_groups(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[DuplicateGroup]
) -> None:
    done = 0
    for group in queryset:
        try:
            merge.dismiss_group(group, user=request.user)
            done += 1
        except merge.MergeConflict as exc:
            messages.error(request, str(exc))
    if done:
        text = ngettext("%d group dismissed.", "%d groups dismissed.", done) % done
        messages.success(request, text)


@admin.action(description=_("Re-check selected groups"), permissions=["change"])
def recheck_groups(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[DuplicateGroup]
) -> None:
    members = DuplicateGroupMember.objects.filter(group__in=queryset).select_related("content_type")
    count = merge.recheck_members(members)
    messages.success(request, ngettext("%d check queued.", "%d checks queued.", count) % count)


def undo_with_message(request: HttpRequest, log: MergeLog) -> None:
    """Undo one merge and tell the person how it went (the list action and the undo page)."""
    try:
        merge.undo_merge(log, user=request.user)
    except merge.MergeConflict as exc:
        messages.error(
            request, _("Merge #%(pk)s was not undone: %(why)s") % {"pk": log.pk, "why": exc}
        )
    else:
        messages.success(request, undone_message(log))


@admin.action(description=_("Undo selected merges"), permissions=["merge"])
def undo_merges(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[MergeLog]
) -> None:
    for log in queryset:
        undo_with_message(request, log)


def undone_message(log: MergeLog) -> str:
    count = len(log.duplicates) if log.deleted_duplicates else 0
    return ngettext(
        "Merge #%(pk)d undone: %(n)d object restored, every reference moved back.",
        "Merge #%(pk)d undone: %(n)d objects restored, every reference moved back.",
        count,
    ) % {"pk": log.pk, "n": count}
