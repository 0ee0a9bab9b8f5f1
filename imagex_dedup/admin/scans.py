"""Library scans in the admin: each run with a progress bar, "Scan library", cancel and resume.

Starting a scan needs the ``add`` permission of scan runs (the admin's add page is the scan
form); cancelling and resuming need ``change``. Runs are otherwise read-only: workers write them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from imagex_dedup.admin.base import ReadOnlyAdmin
from imagex_dedup.models import ScanRun
from imagex_dedup.scan.planning import cancel_run, resume_run, start_run
from imagex_dedup.scan.progress import Progress, progress, with_totals
from imagex_dedup.scan.targets import from_label, resolve


class ScanForm(forms.Form):
    targets = forms.MultipleChoiceField(
        label=_("Images to scan"), widget=forms.CheckboxSelectMultiple
    )
    force = forms.BooleanField(
        label=_("Fingerprint every image again (otherwise only new and changed ones)"),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(target.label, target.label) for target in resolve(None)]
        self.fields["targets"].choices = choices
        self.fields["targets"].initial = [value for value, _ in choices]


@admin.action(description=_("Cancel selected scans"), permissions=["control"])
def cancel_scans(modeladmin: ScanRunAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    cancelled = sum(cancel_run(run) for run in queryset)
    modeladmin.message_user(request, _("%d scan(s) cancelled.") % cancelled, messages.SUCCESS)


@admin.action(description=_("Resume selected scans"), permissions=["control"])
def resume_scans(modeladmin: ScanRunAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    resumed = sum(resume_run(run) for run in queryset)
    modeladmin.message_user(request, _("%d scan(s) resumed.") % resumed, messages.SUCCESS)


@admin.register(ScanRun)
class ScanRunAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "progress_bar",
        "rate",
        "error_count",
        "started_at",
        "finished_at",
        "created_by",
    ]
    list_filter = ["status"]
    actions = [cancel_scans, resume_scans]
    readonly_fields = [
        "status",
        "targets",
        "force",
        "progress_bar",
        "rate",
        "error_count",
        "error_messages",
        "started_at",
        "finished_at",
        "created_by",
    ]
    fields = readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return with_totals(super().get_queryset(request))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("imagex_dedup.add_scanrun")

    def has_control_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("imagex_dedup.change_scanrun")

    def _progress(self, run: ScanRun) -> Progress:
        cached = getattr(run, "_progress", None)
        if cached is None:
            cached = run._progress = progress(run, messages=False)
        return cached

    @admin.display(description=_("progress"))
    def progress_bar(self, run: ScanRun) -> str:
        report = self._progress(run)
        return format_html(
            '<progress value="{}" max="{}" style="width: 12em"></progress> {} / {} ({}%)',
            report.done,
            report.total or 1,
            report.done,
            report.total,
            f"{report.percent:.0f}",
        )

    @admin.display(description=_("images/s"))
    def rate(self, run: ScanRun) -> str:
        report = self._progress(run)
        eta = f", ETA {report.eta}" if report.eta is not None else ""
        return f"{report.rate:.1f}{eta}"

    @admin.display(description=_("errors"))
    def error_count(self, run: ScanRun) -> int:
        return self._progress(run).errors

    @admin.display(description=_("error messages"))
    def error_messages(self, run: ScanRun) -> str:
        shown = progress(run).messages
        if not shown:
            return "-"
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((m,) for m in shown))
        )

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """The "Scan library" page: which registered images, and whether to redo them all."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ScanForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            targets = [from_label(label) for label in form.cleaned_data["targets"]]
            run = start_run(targets, force=form.cleaned_data["force"], user=request.user)
            self.message_user(request, _("%s enqueued.") % run, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:imagex_dedup_scanrun_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Scan library"),
            "form": form,
        }
        return TemplateResponse(request, "admin/imagex_dedup/scanrun/scan_form.html", context)
