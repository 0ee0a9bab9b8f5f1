"""Host models in the admin: the "Check selected for duplicates" action, added to registered
models' ModelAdmins, and :class:`DuplicatesAdminMixin` for host ``ModelAdmin`` classes.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from imagex_dedup.hook.registry import get_registered_models, get_registration
from imagex_dedup.models import DuplicateGroup

CHECK_TASK = "imagex_dedup.hook.tasks.check_object"


@admin.action(description=_("Check selected for duplicates"), permissions=["change"])
def check_for_duplicates(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Model]
) -> None:
    """Queue ``tasks.check_object`` for every watched field of the selected objects."""
    from imagex_dedup.scheduling import enqueue

    registration = get_registration(queryset.model)
    if registration is None:
        messages.error(
            request, _("%s is not watched for duplicates.") % queryset.model._meta.verbose_name
        )
        return
    opts = registration.model._meta
    count = 0
    for pk in queryset.values_list("pk", flat=True):
        for field_name in registration.fields:
            enqueue(CHECK_TASK, opts.app_label, opts.model_name, str(pk), field_name)
            count += 1
    messages.success(request, ngettext("%d check queued.", "%d checks queued.", count) % count)


class DuplicatesAdminMixin:
    """For a host ``ModelAdmin``: the "Check selected for duplicates" action, and a
    ``duplicate_groups`` column (add it to ``list_display``) linking to the object's open groups.
    """

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)  # type: ignore[misc]
        if "check_for_duplicates" not in actions and self.has_change_permission(request):  # type: ignore[attr-defined]
            actions["check_for_duplicates"] = (
                check_for_duplicates,
                "check_for_duplicates",
                check_for_duplicates.short_description,
            )
        return actions

    @admin.display(description=_("duplicates"))
    def duplicate_groups(self, obj: Model) -> str:
        ct = ContentType.objects.get_for_model(obj)
        count = (
            DuplicateGroup.objects.filter(
                status=DuplicateGroup.Status.OPEN,
                members__content_type=ct,
                members__object_id=str(obj.pk),
            )
            .distinct()
            .count()
        )
        if not count:
            return "-"
        url = reverse("admin:imagex_dedup_duplicategroup_changelist")
        return format_html(
            "<a href='{}?status__exact=open&object={}:{}'>{}</a>", url, ct.pk, obj.pk, count
        )


def install_host_actions(site: admin.AdminSite | None = None) -> None:
    """Add "Check selected for duplicates" to the ModelAdmins of registered models (and their
    proxies) on ``site`` (default ``admin.site``). Called from ``AppConfig.ready()``; does
    nothing when ``django.contrib.admin`` is not installed. ModelAdmins with ``actions = None``
    are left alone."""
    if not apps.is_installed("django.contrib.admin"):
        return
    site = site or admin.site
    for registered in get_registered_models():
        family = [m for m in apps.get_models() if m._meta.concrete_model is registered]
        for model in family:
            if not site.is_registered(model):
                continue
            model_admin = site.get_model_admin(model)
            if model_admin.actions is None or check_for_duplicates in model_admin.actions:
                continue
            model_admin.actions = (*model_admin.actions, check_for_duplicates)
