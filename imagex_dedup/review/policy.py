"""Bulk policy: merge every open group whose members all score at least X into its keeper.

``preview`` is the dry run: how many groups qualify, how many would merge, which would be refused
(a conflict) and what the merges would change (rows deleted, references moved, links dropped).
``apply`` merges them through ``MERGE_HANDLER``, one transaction per group, so a group that cannot
be merged is refused on its own and changes nothing. ``apply_in_background`` splits a large run
into django-q2 tasks of :data:`CHUNK` groups, each re-checking the policy when it runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Min, Q, QuerySet

from imagex_dedup.models import DuplicateGroup, DuplicateGroupMember
from imagex_dedup.review import merge, perms

CHUNK = 200
TASK = "imagex_dedup.review.policy.apply_task"


@dataclass(frozen=True)
class Policy:
    """Open groups whose every member scores ``min_score`` or more (optionally of one model)."""

    min_score: float
    content_type_id: int | None = None

    def groups(self, user: Any = None) -> QuerySet[DuplicateGroup]:
        queryset = perms.visible_groups(user) if user is not None else DuplicateGroup.objects.all()
        queryset = queryset.filter(status=DuplicateGroup.Status.OPEN)
        if self.content_type_id is not None:
            members = DuplicateGroupMember.objects.filter(content_type_id=self.content_type_id)
            queryset = queryset.filter(pk__in=members.values("group"))
        return (
            queryset.annotate(lowest=Min("members__score", filter=Q(members__is_primary=False)))
            .filter(lowest__gte=self.min_score)
            .order_by("-lowest", "pk")
        )


@dataclass
class Preview:
    groups: int = 0
    mergeable: int = 0
    rows_deleted: int = 0
    references_moved: int = 0
    links_dropped: int = 0
    refused: list[tuple[DuplicateGroup, list[str]]] = field(default_factory=list)


def preview(groups: Iterable[DuplicateGroup]) -> Preview:
    """What applying the policy would do now; changes nothing."""
    result = Preview()
    for group, plan in merge.plan_merges(groups):
        result.groups += 1
        if isinstance(plan, merge.MergeConflict):
            result.refused.append((group, plan.problems))
            continue
        if plan.conflicts:
            result.refused.append((group, plan.conflicts))
            continue
        result.mergeable += 1
        result.rows_deleted += plan.deleted_count
        result.references_moved += plan.moved_count
        result.links_dropped += plan.dropped_count
    return result


@dataclass
class Outcome:
    merged: list[int] = field(default_factory=list)  # merge log ids
    refused: list[tuple[int, str]] = field(default_factory=list)  # (group id, why)


def apply(groups: Iterable[DuplicateGroup], user: Any = None) -> Outcome:
    """Merge each group into its keeper; a group that cannot be merged is refused alone."""
    handler = merge.get_merge_handler()
    outcome = Outcome()
    for group in groups:
        if user is not None and not perms.can_merge(user, group):
            outcome.refused.append((group.pk, "no permission to merge it"))
            continue
        try:
            log = handler(group, None, user=user)
        except merge.MergeConflict as exc:
            outcome.refused.append((group.pk, str(exc)))
        else:
            outcome.merged.append(log.pk)
    return outcome


def apply_in_background(policy: Policy, user: Any) -> int:
    """Queue the policy's merges in tasks of :data:`CHUNK` groups; returns the group count."""
    from imagex_dedup.scheduling import enqueue

    ids = list(policy.groups(user).values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        enqueue(
            TASK,
            policy.min_score,
            policy.content_type_id,
            getattr(user, "pk", None),
            ids[start : start + CHUNK],
        )
    return len(ids)


def apply_task(
    min_score: float, content_type_id: int | None, user_id: int | None, group_ids: list[int]
) -> dict[str, int]:
    """One chunk of :func:`apply_in_background`: groups that no longer qualify are skipped."""
    user = get_user_model()._base_manager.filter(pk=user_id).first() if user_id else None
    policy = Policy(min_score, content_type_id)
    outcome = apply(policy.groups(user).filter(pk__in=group_ids), user)
    return {"merged": len(outcome.merged), "refused": len(outcome.refused)}
