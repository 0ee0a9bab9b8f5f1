"""DRF permission classes of the review API.

The rules themselves live in ``imagex_dedup.review.perms``, so the admin and the API cannot
drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from imagex_dedup.review import perms

Rule = Callable[[Any], bool]


class ActionPermission(BasePermission):
    """Authenticated users who pass the rule of the view's current action (``rules``; actions
    not listed use ``default``)."""

    rules: ClassVar[dict[str, Rule]] = {}
    default: ClassVar[Rule] = staticmethod(perms.can_view)

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return self.rules.get(getattr(view, "action", "") or "", self.default)(user)


class GroupPermission(ActionPermission):
    rules: ClassVar[dict[str, Rule]] = {
        "list": perms.can_view,
        "retrieve": perms.can_view,
        "merge": perms.can_merge,
        "dismiss": perms.can_change,
        "recheck": perms.can_change,
    }

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if getattr(view, "action", "") == "merge":
            return perms.can_merge(request.user, obj)
        return True


class MergeLogPermission(ActionPermission):
    default: ClassVar[Rule] = staticmethod(perms.can_view_logs)
    rules: ClassVar[dict[str, Rule]] = {"undo": perms.can_merge}
