"""Review and merge duplicate Wagtail images inside the Wagtail admin.

Permissions come from Wagtail's image permission policy, so collections are respected: a group
is listed to a user who may change every member, merged by one who may also delete every
duplicate (the keeper is changed, the others deleted), dismissed by one who may change them.
The merge itself is the configured ``MERGE_HANDLER``, as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from wagtail.images import get_image_model
from wagtail.models import ReferenceIndex
from wagtail.permissions import policy_registry

from imagex_dedup.engine.similarity import display_score
from imagex_dedup.models import DuplicateGroup, DuplicateGroupMember, MergeLog
from imagex_dedup.review.merge import (
    MergeConflict,
    dismiss_group,
    get_merge_handler,
    plan_merge,
    undo_merge,
)


def _policy() -> Any:
    return policy_registry.get_by_type(get_image_model())


def _may(user: Any, action: str, images: list[Any]) -> bool:
    policy = _policy()
    return all(policy.user_has_permission_for_instance(user, action, i) for i in images)


def can_review(user: Any) -> bool:
    """Whether to show the menu item: any image the user may change."""
    return bool(_policy().user_has_any_permission(user, ["change", "delete"]))


@dataclass
class Row:
    """A member of a group with its image and where the image is used."""

    member: DuplicateGroupMember
    image: Any
    usage: Any

    @property
    def percent(self) -> float:
        return display_score(self.member.score) * 100


def _image_groups() -> Any:
    ct = ContentType.objects.get_for_model(get_image_model())
    return DuplicateGroup.objects.filter(
        status=DuplicateGroup.Status.OPEN, members__content_type=ct
    ).distinct()


def _rows(group: DuplicateGroup) -> list[Row]:
    members = list(group.members.all())
    images = get_image_model().objects.in_bulk([m.object_id for m in members])
    by_id = {str(pk): image for pk, image in images.items()}
    return [
        Row(m, by_id[m.object_id], ReferenceIndex.get_grouped_references_to(by_id[m.object_id]))
        for m in members
        if m.object_id in by_id
    ]


def _reviewable(user: Any, group: DuplicateGroup) -> list[Row]:
    rows = _rows(group)
    if len(rows) < 2 or not _may(user, "change", [r.image for r in rows]):
        raise PermissionDenied
    return rows


def index(request: HttpRequest) -> HttpResponse:
    if not can_review(request.user):
        raise PermissionDenied
    groups = []
    for group in _image_groups().prefetch_related("members").order_by("-created_at")[:200]:
        rows = _rows(group)
        if len(rows) > 1 and _may(request.user, "change", [r.image for r in rows]):
            groups.append((group, rows))
    logs = MergeLog.objects.filter(
        undone_at__isnull=True,
        keeper_content_type=ContentType.objects.get_for_model(get_image_model()),
    ).order_by("-created_at")[:10]
    context = {
        "groups": groups,
        "logs": logs,
        "can_undo": _policy().user_has_permission(request.user, "add"),
    }
    return TemplateResponse(request, "imagex_dedup_wagtail/duplicates_index.html", context)


def review(request: HttpRequest, group_id: int) -> HttpResponse:
    group = get_object_or_404(_image_groups(), pk=group_id)
    rows = _reviewable(request.user, group)
    try:
        plan = plan_merge(group)
        problems, keeper_id = plan.conflicts, plan.keeper_member.pk
    except MergeConflict as exc:
        problems, keeper_id = exc.problems, None
    context = {
        "group": group,
        "rows": rows,
        "problems": problems,
        "keeper_id": keeper_id,
        "can_merge": _may(request.user, "delete", [r.image for r in rows]),
    }
    return TemplateResponse(request, "imagex_dedup_wagtail/duplicates_review.html", context)


@require_POST
def merge(request: HttpRequest, group_id: int) -> HttpResponse:
    group = get_object_or_404(_image_groups(), pk=group_id)
    rows = _reviewable(request.user, group)
    keeper = next((r for r in rows if str(r.member.pk) == request.POST.get("keeper")), None)
    if keeper is None:
        messages.error(request, _("Choose the image to keep."))
        return redirect("imagex_dedup_wagtail:review", group_id=group.pk)
    duplicates = [r.image for r in rows if r is not keeper]
    if not (
        _may(request.user, "change", [keeper.image]) and _may(request.user, "delete", duplicates)
    ):
        raise PermissionDenied
    try:
        get_merge_handler()(group, keeper.member, user=request.user)
    except MergeConflict as exc:
        messages.error(request, _("Not merged: %s") % exc)
        return redirect("imagex_dedup_wagtail:review", group_id=group.pk)
    messages.success(
        request,
        _("Merged into '%(title)s': every use of the other images now shows it.")
        % {"title": keeper.image.title},
    )
    return redirect("imagex_dedup_wagtail:index")


@require_POST
def dismiss(request: HttpRequest, group_id: int) -> HttpResponse:
    group = get_object_or_404(_image_groups(), pk=group_id)
    _reviewable(request.user, group)
    dismiss_group(group, user=request.user)
    messages.success(request, _("Marked as not duplicates."))
    return redirect("imagex_dedup_wagtail:index")


@require_POST
def undo(request: HttpRequest, log_id: int) -> HttpResponse:
    log = get_object_or_404(MergeLog, pk=log_id, undone_at__isnull=True)
    keeper = get_image_model().objects.filter(pk=log.keeper_object_id).first()
    policy = _policy()
    if keeper is None or not (
        policy.user_has_permission(request.user, "add") and _may(request.user, "change", [keeper])
    ):
        raise PermissionDenied
    try:
        undo_merge(log, user=request.user)
    except MergeConflict as exc:
        messages.error(request, _("Not undone: %s") % exc)
    else:
        messages.success(request, _("Merge undone: the images and their uses are back."))
    return redirect("imagex_dedup_wagtail:index")
