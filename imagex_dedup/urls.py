"""URLs of imagex_dedup.

A host mounts them once, e.g. ``path("imagex/", include("imagex_dedup.urls"))``:

* ``<mount>/?Action=...&Version=2018-08-01`` — the veImageX-compatible detection service,
* ``<mount>/callback/<task_id>/`` — results from a detection backend,
* ``<mount>/api/`` — the REST API (groups, merge, dismiss, checks).
"""

from django.urls import include, path

from imagex_dedup.backends.callback_view import callback_view
from imagex_dedup.review.thumbnails import thumbnail_view
from imagex_dedup.service.views import ServiceView
from imagex_dedup.upload.thumbnails import upload_thumbnail_view

app_name = "imagex_dedup"

urlpatterns: list = [
    path("", ServiceView.as_view(), name="service"),
    path("callback/<str:task_id>/", callback_view, name="callback"),
    path("thumbnail/<int:member_id>/", thumbnail_view, name="thumbnail"),
    path(
        "upload-thumbnail/<int:fingerprint_id>/",
        upload_thumbnail_view,
        name="upload-thumbnail",
    ),
    path("api/", include("imagex_dedup.api.urls")),
]
