"""Who may review, merge, dismiss, re-check and undo: one place for the admin and the REST API.

* view a group: ``imagex_dedup.view_duplicategroup`` (or ``change``)
* dismiss / re-check a group: ``imagex_dedup.change_duplicategroup``
* merge a group, undo a merge: ``change_duplicategroup`` and ``merge_duplicategroup``, plus
  ``delete`` on every host model whose rows the merge deletes (``MERGE_DELETE_DUPLICATES``)
* "Check selected for duplicates" on a host model: ``change`` on that host model
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_permission_codename
from django.db import models

from imagex_dedup.conf import dedup_settings

if TYPE_CHECKING:
    from imagex_dedup.models import DuplicateGroup

VIEW = "imagex_dedup.view_duplicategroup"
CHANGE = "imagex_dedup.change_duplicategroup"
MERGE = "imagex_dedup.merge_duplicategroup"
VIEW_LOG = "imagex_dedup.view_mergelog"


def model_perm(action: str, model: type[models.Model]) -> str:
    """``"<app_label>.<action>_<model>"`` for a host model (proxies use their own perms)."""
    opts = model._meta
    return f"{opts.app_label}.{get_permission_codename(action, opts)}"


def can_view(user: Any) -> bool:
    return bool(user.has_perm(VIEW) or user.has_perm(CHANGE))


def can_change(user: Any) -> bool:
    return bool(user.has_perm(CHANGE))


def can_merge(user: Any, group: DuplicateGroup | None = None) -> bool:
    """Merge (and undo) needs change + merge on groups, and delete on the host models whose
    duplicates the merge would delete. Without a group only the group permissions are checked."""
    if not (user.has_perm(CHANGE) and user.has_perm(MERGE)):
        return False
    if group is None or not dedup_settings.merge_delete_duplicates:
        return True
    from django.contrib.contenttypes.models import ContentType

    ct_ids = set(group.members.values_list("content_type", flat=True))
    host_models = {ContentType.objects.get_for_id(ct_id).model_class() for ct_id in ct_ids}
    return all(user.has_perm(model_perm("delete", m)) for m in host_models if m is not None)


def can_view_logs(user: Any) -> bool:
    return bool(user.has_perm(VIEW_LOG) or user.has_perm(MERGE))


def hidden_content_type_ids(user: Any) -> set[int]:
    """Content types of group members whose host model ``user`` may neither view nor change."""
    from django.contrib.contenttypes.models import ContentType

    from imagex_dedup.models import DuplicateGroupMember

    used = DuplicateGroupMember.objects.values_list("content_type", flat=True).distinct()
    return {
        ct.pk
        for ct in ContentType.objects.filter(pk__in=used)
        if not can_view_host(user, ct.model_class())
    }


def can_view_host(user: Any, model: type[models.Model] | None) -> bool:
    """May ``user`` see objects of this host model (view or change permission)?"""
    return model is not None and bool(
        user.has_perm(model_perm("view", model)) or user.has_perm(model_perm("change", model))
    )


def visible_groups(user: Any) -> models.QuerySet[DuplicateGroup]:
    """Groups ``user`` may review: none without group permissions, and never a group with a
    member of a host model the user cannot view."""
    from imagex_dedup.models import DuplicateGroup

    if not can_view(user):
        return DuplicateGroup.objects.none()
    return DuplicateGroup.objects.exclude(members__content_type__in=hidden_content_type_ids(user))
