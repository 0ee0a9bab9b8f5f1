"""The upload check in Django forms: :class:`UploadCheckFormMixin` for ``ModelForm`` classes of
registered models (the admin uses it too).

When a new file in a watched field looks like library images, ``clean()`` adds an error to that
field (the form is not valid, nothing is saved) and remembers the result in
``form.upload_checks``. In ``"warn"`` mode it keeps the upload (:mod:`.pending`) and the warning
has a ``confirm_duplicate`` checkbox: sending the form again with it ticked saves the kept
upload. In ``"block"`` mode there is no such checkbox and nothing is kept. A check that cannot
run never adds an error.

The checkbox is not a form field (``{{ form }}`` would render it even when there is no
warning): the warning renders it, and ``clean()`` reads it from the submitted data.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from imagex_dedup.hook.registry import get_registration
from imagex_dedup.upload import pending
from imagex_dedup.upload.check import UploadCheck, check_upload

CONFIRM_FIELD = "confirm_duplicate"
PENDING_PREFIX = "imagex_dedup_pending_"
WARNING_TEMPLATE = "imagex_dedup/upload_check/warning.html"


def pending_field(name: str) -> str:
    """The hidden field carrying the token of ``name``'s kept upload."""
    return f"{PENDING_PREFIX}{name}"


class UploadCheckFormMixin:
    """Put before ``forms.ModelForm`` in the bases of a form of a registered model.

    ``upload_check_user`` (a class attribute, or the ``upload_check_user`` keyword argument):
    the user the warning is shown to. Matches of host models that user may not view are
    counted, not shown (with no user, none are shown). Render ``{{ form.duplicate_warning }}``
    inside the ``<form>``: the matches and the checkbox; ``{{ form }}`` renders the hidden
    field that keeps the upload.
    """

    upload_check_user: Any = None
    upload_check_site: str = "admin"
    """Name of the admin site the matches link to."""

    class Media:
        css = {"all": ["imagex_dedup/upload_check.css"]}

    def __init__(self, *args: Any, upload_check_user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if upload_check_user is not None:
            self.upload_check_user = upload_check_user
        self.upload_checks: dict[str, UploadCheck] = {}
        self._upload_names: dict[str, str] = {}
        for name in self.upload_check_fields():
            self.fields[pending_field(name)] = forms.CharField(
                required=False, widget=forms.HiddenInput
            )
        if self.is_bound:
            self._restore_kept_uploads()

    # --- which fields, whose uploads ------------------------------------------------------

    def upload_check_fields(self) -> list[str]:
        """The registration's watched fields that this form edits."""
        registration = get_registration(self._meta.model)
        if registration is None:
            return []
        return [name for name in registration.fields if name in self.fields]

    def _owner(self) -> str:
        user = self.upload_check_user
        return str(user.pk) if user is not None and user.is_authenticated else ""

    def _restore_kept_uploads(self) -> None:
        """A field sent without a new file but with a kept upload's token gets that upload."""
        for name in self.upload_check_fields():
            field_key = self.add_prefix(name)
            token = self.data.get(self.add_prefix(pending_field(name)))
            if token and not self.files.get(field_key):
                upload = pending.restore(token, self._owner())
                if upload is not None:
                    self.files = self.files.copy()  # the request's files stay as they were
                    self.files[field_key] = upload

    # --- the check ------------------------------------------------------------------------

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        confirmed = self.confirmed_duplicate
        instance = getattr(self, "instance", None)
        for name in self.upload_check_fields():
            upload = cleaned.get(name)
            if name in self.errors or not isinstance(upload, UploadedFile):
                continue  # no new file (the stored one is not checked again), or a bad one
            result = check_upload(upload, model=self._meta.model, exclude=instance)
            if result.stops_save(confirmed=confirmed):
                self.upload_checks[name] = result
                self._upload_names[name] = PurePath(upload.name or "").name
                if result.can_confirm:  # in "block" mode it can never be saved: not kept
                    self._keep(name, upload)
                self.add_error(name, self._message(result))
        return cleaned

    @property
    def confirmed_duplicate(self) -> bool:
        """Did the editor tick “Save anyway”?"""
        value = self.data.get(self.add_prefix(CONFIRM_FIELD), "") if self.is_bound else ""
        return str(value).lower() in {"1", "on", "true", "yes"}

    def _keep(self, name: str, upload: UploadedFile) -> None:
        """Keep a new upload for the next submit (a restored one is kept already)."""
        if getattr(upload, "imagex_dedup_kept_as", None):
            return
        self.data = self.data.copy()
        self.data[self.add_prefix(pending_field(name))] = pending.keep(upload, self._owner())

    @staticmethod
    def _message(result: UploadCheck) -> str:
        count = len(result.matches)
        if result.can_confirm:
            return ngettext(
                "This image looks like an image already in the library: use it, or tick "
                "“Save anyway” above and save again.",
                "This image looks like %(count)d images already in the library: use one of "
                "them, or tick “Save anyway” above and save again.",
                count,
            ) % {"count": count}
        return ngettext(
            "This image looks like an image already in the library and cannot be saved: "
            "use that one.",
            "This image looks like %(count)d images already in the library and cannot be "
            "saved: use one of them.",
            count,
        ) % {"count": count}

    # --- saving ---------------------------------------------------------------------------

    def _save_m2m(self) -> None:
        super()._save_m2m()
        for name in self.upload_check_fields():
            upload = self.cleaned_data.get(name)
            kept_as = getattr(upload, "imagex_dedup_kept_as", None)
            if kept_as:
                upload.close()
                pending.discard(kept_as)

    # --- showing the warning --------------------------------------------------------------

    def warning_context(self) -> dict[str, Any]:
        user = self.upload_check_user
        warnings = []
        for name, result in self.upload_checks.items():
            shown = result.visible_matches(user)
            warnings.append(
                {
                    "field": self[name].label,
                    "upload_name": self._upload_names.get(name, ""),
                    "result": result,
                    "matches": [
                        {
                            "label": match.label,
                            "score": match.shown_score,
                            "admin_url": match.admin_url(self.upload_check_site),
                            "thumbnail_url": match.thumbnail_url,
                        }
                        for match in shown
                    ],
                    "hidden": len(result.matches) - len(shown),
                }
            )
        return {
            "form": self,
            "confirm_name": self.add_prefix(CONFIRM_FIELD),
            "confirm_id": f"id_{self.add_prefix(CONFIRM_FIELD)}",
            "warnings": warnings,
            "can_confirm": any(result.can_confirm for result in self.upload_checks.values()),
        }

    @property
    def duplicate_warning(self) -> SafeString:
        """The warning (empty when there is none), for the host's template."""
        if not self.upload_checks:
            return SafeString("")
        return SafeString(render_to_string(WARNING_TEMPLATE, self.warning_context()))

    def upload_check_hidden_fields(self) -> list[forms.BoundField]:
        """The fields the admin renders itself (they are in no fieldset)."""
        return [self[pending_field(name)] for name in self.upload_check_fields()]
