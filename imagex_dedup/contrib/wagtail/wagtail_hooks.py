"""Admin wiring: the upload views are installed ahead of Wagtail's own (same paths, so every
link and ``reverse()`` to them reaches the near-duplicate check), plus this app's pages and its
"Duplicates" menu item."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.images.views.chooser import viewset as chooser_viewset

from imagex_dedup.contrib.wagtail import review, urls, views


@hooks.register("register_admin_urls", order=-1)
def register_upload_urls() -> list:
    chooser_create = chooser_viewset.construct_view(views.ChooserUploadView)
    return [
        path("images/add/", views.AddView.as_view()),
        path("images/multiple/add/", views.MultipleAddView.as_view()),
        path(f"{chooser_viewset.url_prefix}/create/", chooser_create),
        path("duplicates/", include(urls, namespace="imagex_dedup_wagtail")),
    ]


class DuplicatesMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return review.can_review(request.user)


@hooks.register("register_admin_menu_item")
def register_duplicates_menu_item() -> MenuItem:
    return DuplicatesMenuItem(
        _("Duplicates"), reverse("imagex_dedup_wagtail:index"), icon_name="image", order=310
    )
