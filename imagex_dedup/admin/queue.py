"""Review at scale: the review queue and the bulk policy page of the duplicate group admin.

The queue shows one open group at a time, best score first (filter by model and by score), with
keyboard shortcuts. Each decision is a POST that redirects back to the queue (so a reload never
repeats it) and is pushed on a per-session stack that "undo last" pops: a merge is undone through
its merge log, a dismissal taken back, a skip forgotten.

The policy page merges, after a dry-run preview, every open group whose members all score at
least X (:mod:`imagex_dedup.review.policy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from imagex_dedup.admin.actions import merged_message, undone_message
from imagex_dedup.admin.cards import group_title
from imagex_dedup.models import DuplicateGroup, DuplicateGroupMember, MergeLog
from imagex_dedup.review import merge, perms
from imagex_dedup.review.policy import Policy, apply_in_background, preview

if TYPE_CHECKING:
    from imagex_dedup.admin.groups import DuplicateGroupAdmin

QUEUE_TEMPLATE = "admin/imagex_dedup/duplicategroup/queue.html"
POLICY_TEMPLATE = "admin/imagex_dedup/duplicategroup/policy.html"
SESSION_KEY = "imagex_dedup_queue"
UNDO_DEPTH = 50


class Filters:
    """The queue's filters, from the query string (or the POST that carries them along)."""

    def __init__(self, data: Any) -> None:
        model = str(data.get("model", ""))
        self.model = int(model) if model.isdigit() else None
        self.score = parse_score(data.get("score"))

    def apply(self, groups: QuerySet[DuplicateGroup]) -> QuerySet[DuplicateGroup]:
        if self.model is not None:
            members = DuplicateGroupMember.objects.filter(content_type_id=self.model)
            groups = groups.filter(pk__in=members.values("group"))
        if self.score is not None:
            groups = groups.filter(best_score__gte=self.score)
        return groups

    @property
    def query(self) -> str:
        params = {"model": self.model, "score": self.score}
        return urlencode({k: v for k, v in params.items() if v is not None})


def parse_score(value: Any) -> float | None:
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if 0.0 <= score <= 1.0 else None


def queue_groups(request: HttpRequest, filters: Filters) -> QuerySet[DuplicateGroup]:
    """Open groups the user may review, best score first, minus the ones skipped."""
    groups = perms.visible_groups(request.user).filter(status=DuplicateGroup.Status.OPEN)
    groups = groups.annotate(best_score=Max("members__score", filter=Q(members__is_primary=False)))
    skipped = _state(request)["skipped"]
    return filters.apply(groups).exclude(pk__in=skipped).order_by("-best_score", "pk")


def _state(request: HttpRequest) -> dict[str, list]:
    state = request.session.get(SESSION_KEY) or {}
    return {"skipped": list(state.get("skipped", [])), "done": list(state.get("done", []))}


def _save(request: HttpRequest, state: dict[str, list]) -> None:
    state["done"] = state["done"][-UNDO_DEPTH:]
    request.session[SESSION_KEY] = state


def model_choices() -> list[tuple[int, str]]:
    used = DuplicateGroupMember.objects.values("content_type")
    return [(ct.pk, str(ct.name)) for ct in ContentType.objects.filter(pk__in=used)]


def queue_view(modeladmin: DuplicateGroupAdmin, request: HttpRequest) -> HttpResponse:
    if not modeladmin.has_view_or_change_permission(request):
        raise PermissionDenied
    filters = Filters(request.POST if request.method == "POST" else request.GET)
    if request.method == "POST":
        _decide(modeladmin, request)
        url = reverse("admin:imagex_dedup_duplicategroup_queue")
        return HttpResponseRedirect(f"{url}?{filters.query}" if filters.query else url)
    groups = queue_groups(request, filters)
    group = groups.first()
    state = _state(request)
    context: dict[str, Any] = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "media": modeladmin.media,
        "title": _("Review queue"),
        "filters": filters,
        "models": model_choices(),
        "remaining": groups.count(),
        "skipped": len(state["skipped"]),
        "last": state["done"][-1]["kind"] if state["done"] else None,
        "shortcuts": True,
    }
    if group is not None:
        context |= modeladmin.review_context(request, group)
        try:
            context["plan"] = merge.plan_merge(group, context["review"].keeper)
        except merge.MergeConflict as exc:
            context["plan_problems"] = exc.problems
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, QUEUE_TEMPLATE, context)


def _decide(modeladmin: DuplicateGroupAdmin, request: HttpRequest) -> None:
    """Carry out one POSTed decision and report it as a message."""
    decision = request.POST.get("decision", "")
    state = _state(request)
    if decision == "undo":
        _undo_last(request, state)
        return
    if decision == "reset":  # bring the skipped groups back
        state["skipped"] = []
        state["done"] = [d for d in state["done"] if d["kind"] != "skip"]
        _save(request, state)
        return
    group = get_object_or_404(perms.visible_groups(request.user), pk=request.POST.get("group") or 0)
    if decision == "skip":
        state["skipped"].append(group.pk)
        state["done"].append({"kind": "skip", "group": group.pk})
    elif decision == "merge":
        if not perms.can_merge(request.user, group):
            raise PermissionDenied
        keeper_id = request.POST.get("keeper")
        keeper = get_object_or_404(group.members, pk=keeper_id) if keeper_id else None
        try:
            log = merge.get_merge_handler()(group, keeper, user=request.user)
        except merge.MergeConflict as exc:
            why = {"group": group_title(group), "why": exc}
            messages.error(request, _("%(group)s was not merged: %(why)s") % why)
            return
        messages.success(request, merged_message(group, log))
        state["done"].append({"kind": "merge", "log": log.pk})
    elif decision == "dismiss":
        if not modeladmin.has_change_permission(request, group):
            raise PermissionDenied
        try:
            merge.dismiss_group(group, user=request.user)
        except merge.MergeConflict as exc:
            messages.error(request, str(exc))
            return
        messages.success(request, _("%s dismissed as not duplicates.") % group_title(group))
        state["done"].append({"kind": "dismiss", "group": group.pk})
    else:
        messages.error(request, _("Unknown decision %r.") % decision)
        return
    _save(request, state)


def _undo_last(request: HttpRequest, state: dict[str, list]) -> None:
    if not state["done"]:
        messages.warning(request, _("Nothing to undo."))
        return
    last = state["done"][-1]
    try:
        if last["kind"] == "merge":
            if not perms.can_merge(request.user):
                raise PermissionDenied
            log = merge.undo_merge(MergeLog.objects.get(pk=last["log"]), user=request.user)
            messages.success(request, undone_message(log))
        elif last["kind"] == "dismiss":
            if not perms.can_change(request.user):
                raise PermissionDenied
            group = merge.undismiss_group(
                DuplicateGroup.objects.get(pk=last["group"]), user=request.user
            )
            messages.success(request, _("%s is open for review again.") % group_title(group))
        else:
            state["skipped"] = [pk for pk in state["skipped"] if pk != last["group"]]
            messages.success(request, _("Skip undone."))
    except (merge.MergeConflict, MergeLog.DoesNotExist, DuplicateGroup.DoesNotExist) as exc:
        messages.error(request, _("The last decision was not undone: %s") % exc)
        return
    state["done"].pop()
    _save(request, state)


def policy_view(modeladmin: DuplicateGroupAdmin, request: HttpRequest) -> HttpResponse:
    """Dry-run preview of the bulk policy, then (POST ``apply``) the merges in the background."""
    if not modeladmin.has_merge_permission(request):
        raise PermissionDenied
    data = request.POST if request.method == "POST" else request.GET
    score = parse_score(data.get("score"))
    model = str(data.get("model", ""))
    context: dict[str, Any] = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "media": modeladmin.media,
        "title": _("Merge by policy"),
        "models": model_choices(),
        "score": data.get("score", ""),
        "model": int(model) if model.isdigit() else None,
    }
    if data.get("score") not in (None, "") and score is None:
        context["error"] = _("The score must be a number between 0 and 1.")
    elif score is not None:
        policy = Policy(score, context["model"])
        if request.method == "POST" and request.POST.get("apply") == "yes":
            count = apply_in_background(policy, request.user)
            messages.success(
                request,
                _(
                    "Merging %(n)d groups in the background; each merge appears in the merge "
                    "logs, and groups that cannot be merged stay open."
                )
                % {"n": count},
            )
            return HttpResponseRedirect(reverse("admin:imagex_dedup_mergelog_changelist"))
        context["policy"] = policy
        context["preview"] = preview(policy.groups(request.user))
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, POLICY_TEMPLATE, context)
