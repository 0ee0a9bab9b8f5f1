"""Wagtail's three upload paths, each warning about near-duplicates beyond Wagtail's exact-hash
check: the same choices Wagtail offers for an exact duplicate (use the existing image and delete
the new one, or keep the new one), with every match's thumbnail and score.

Each view subclasses Wagtail's own and only changes the step after a successful upload; the
URLs are installed ahead of Wagtail's in ``wagtail_hooks``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.generic import TemplateView
from wagtail.admin.modal_workflow import render_modal_workflow
from wagtail.images import get_image_model
from wagtail.images.views import images, multiple
from wagtail.images.views.chooser import ImageUploadView
from wagtail.permissions import policy_registry

from imagex_dedup.upload import UploadMatch, check_upload


def near_matches(image: Any, user: Any) -> list[UploadMatch]:
    """Images near the just-uploaded ``image`` that ``user`` may choose, best first: the shared
    upload check, kept to the site's image model (the library may hold other host models)."""
    model = type(image)._meta.concrete_model
    with image.open_file() as stream:
        found = check_upload(stream, model=model, exclude=image).matches
    matches = [m for m in found if isinstance(m.object, model)]
    policy = policy_registry.get_by_type(type(image))
    allowed = policy.instances_user_has_permission_for(user, "choose")
    ids = set(allowed.filter(pk__in=[m.object.pk for m in matches]).values_list("pk", flat=True))
    return [m for m in matches if m.object.pk in ids]


class AddView(images.CreateView):
    """Single upload: after saving, a near-duplicate leads to the review page."""

    def get_success_url(self) -> str:
        if near_matches(self.object, self.request.user):
            return reverse("imagex_dedup_wagtail:upload_review", args=(self.object.pk,))
        return super().get_success_url()


class UploadReviewView(TemplateView):
    template_name = "imagex_dedup_wagtail/upload_review.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        image = get_object_or_404(get_image_model(), pk=kwargs["image_id"])
        matches = near_matches(image, self.request.user)
        return super().get_context_data(
            image=image,
            matches=[
                (m, use_existing_url(image, reverse("wagtailimages:edit", args=(m.object.pk,))))
                for m in matches
            ],
            **kwargs,
        )


def use_existing_url(new_image: Any, next_url: str) -> str:
    """Wagtail's delete view for the new image, going on to ``next_url`` (the existing one)."""
    delete = reverse("wagtailimages:delete", args=(new_image.pk,))
    return f"{delete}?{urlencode({'next': next_url})}"


class MultipleAddView(multiple.AddView):
    """Multiple upload: the warning goes where Wagtail shows its exact-duplicate one."""

    def get_edit_object_response_data(self) -> dict[str, Any]:
        data = super().get_edit_object_response_data()
        if not data.get("duplicate") and (matches := near_matches(self.object, self.request.user)):
            html = render_to_string(
                "imagex_dedup_wagtail/multiple_confirm.html",
                {
                    "matches": matches,
                    "delete_action": reverse(self.delete_object_url_name, args=(self.object.id,)),
                },
                request=self.request,
            )
            data.update(duplicate=True, confirm_duplicate_upload=html)
        return data


class ChooserUploadView(ImageUploadView):
    """The chooser modal's upload tab: a near-duplicate step before choosing the new image."""

    def get_chosen_response(self, image: Any) -> HttpResponse:
        return self._warn(image) or super().get_chosen_response(image)

    def render_select_format_response(self, image: Any, form: Any) -> HttpResponse:
        return self._warn(image) or super().render_select_format_response(image, form)

    def _warn(self, image: Any) -> HttpResponse | None:
        matches = near_matches(image, self.request.user)
        if not matches:
            return None
        step = "select_format" if self.request.GET.get("select_format") else "chosen"

        def next_url(pk: Any) -> str:
            url = reverse(f"wagtailimages_chooser:{step}", args=(pk,))
            return self.append_preserved_url_parameters(url)

        html = render_to_string(
            "imagex_dedup_wagtail/chooser_confirm.html",
            {
                "new_image": image,
                "use_new_url": next_url(image.pk),
                "matches": [(m, use_existing_url(image, next_url(m.object.pk))) for m in matches],
            },
            self.request,
        )
        return render_modal_workflow(
            self.request,
            None,
            None,
            None,
            json_data={"step": "duplicate_found", "htmlFragment": html},
        )
