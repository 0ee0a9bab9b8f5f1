"""Admin wiring: the upload views are installed ahead of Wagtail's own (same paths, so every
link and ``reverse()`` to them reaches the near-duplicate check), plus this app's pages."""

from django.urls import include, path
from wagtail import hooks
from wagtail.images.views.chooser import viewset as chooser_viewset

from imagex_dedup.contrib.wagtail import urls, views


@hooks.register("register_admin_urls", order=-1)
def register_upload_urls() -> list:
    chooser_create = chooser_viewset.construct_view(views.ChooserUploadView)
    return [
        path("images/add/", views.AddView.as_view()),
        path("images/multiple/add/", views.MultipleAddView.as_view()),
        path(f"{chooser_viewset.url_prefix}/create/", chooser_create),
        path("duplicates/", include(urls, namespace="imagex_dedup_wagtail")),
    ]
