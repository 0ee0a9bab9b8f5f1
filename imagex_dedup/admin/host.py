"""Host models in the admin: the "Check selected for duplicates" action and the check on
upload (:class:`UploadCheckAdminMixin`), both added to registered models' ModelAdmins, and
:class:`DuplicatesAdminMixin` (both, plus a "duplicates" column) for host ``ModelAdmin`` classes.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.loader import select_template
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from imagex_dedup.hook.registry import get_registered_models, get_registration
from imagex_dedup.models import DuplicateGroup
from imagex_dedup.upload import OFF, upload_check_mode
from imagex_dedup.upload.forms import UploadCheckFormMixin

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


class UploadCheckAdminMixin:
    """For a host ``ModelAdmin`` of a registered model: the add and change forms check a new
    upload (:mod:`imagex_dedup.upload`) and, when it looks like library images, are shown again
    with the matches, the upload kept, and (``"warn"`` mode) a ``confirm_duplicate`` checkbox.

    The warning is drawn in the ``form_top`` block of the change form the admin would use
    anyway (the ModelAdmin's ``change_form_template`` or Django's), through
    ``upload_check_template``.
    """

    upload_check_template = "admin/imagex_dedup/upload_check/change_form.html"

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm]:
        form = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        if upload_check_mode(self.model) == OFF:  # type: ignore[attr-defined]
            return form
        attrs = {
            "upload_check_user": request.user,
            "upload_check_site": self.admin_site.name,  # type: ignore[attr-defined]
        }
        return type(form.__name__, (UploadCheckFormMixin, form), attrs)

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        response = super().render_change_form(request, context, *args, **kwargs)  # type: ignore[misc]
        form = context["adminform"].form
        if isinstance(form, UploadCheckFormMixin) and isinstance(response, TemplateResponse):
            names = response.template_name
            base = select_template([names] if isinstance(names, str) else list(names))
            response.context_data["imagex_dedup_base_template"] = base
            response.template_name = self.upload_check_template
        return response


class UploadCheckModelAdmin(UploadCheckAdminMixin, admin.ModelAdmin):
    """What a plain ``ModelAdmin`` of a registered model becomes (:func:`install_upload_check`)."""


class DuplicatesAdminMixin(UploadCheckAdminMixin):
    """For a host ``ModelAdmin``: the check on upload (:class:`UploadCheckAdminMixin`), the
    "Check selected for duplicates" action, and a ``duplicate_groups`` column (add it to
    ``list_display``) linking to the object's open groups.
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


def install_upload_check(site: admin.AdminSite, model: type[Model]) -> admin.ModelAdmin:
    """Give ``model`` the check on upload when its admin is a plain ``ModelAdmin``: it is
    registered again with a subclass that adds :class:`UploadCheckAdminMixin` (nothing else
    differs). A host's own ModelAdmin class is left alone: it takes the mixin itself."""
    model_admin = site.get_model_admin(model)
    if type(model_admin) is admin.ModelAdmin:
        site.unregister(model)
        site.register(model, UploadCheckModelAdmin)
        model_admin = site.get_model_admin(model)
    return model_admin


def install_host_actions(site: admin.AdminSite | None = None) -> None:
    """Add "Check selected for duplicates" to the ModelAdmins of registered models (and their
    proxies) on ``site`` (default ``admin.site``), and the check on upload to those that are
    plain ModelAdmins (:func:`install_upload_check`). Called from ``AppConfig.ready()``; does
    nothing when ``django.contrib.admin`` is not installed. ModelAdmins with ``actions = None``
    get no action."""
    if not apps.is_installed("django.contrib.admin"):
        return
    site = site or admin.site
    for registered in get_registered_models():
        family = [m for m in apps.get_models() if m._meta.concrete_model is registered]
        for model in family:
            if not site.is_registered(model):
                continue
            model_admin = install_upload_check(site, model)
            if model_admin.actions is None or check_for_duplicates in model_admin.actions:
                continue
            model_admin.actions = (*model_admin.actions, check_for_duplicates)
