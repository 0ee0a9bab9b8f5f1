"""URLs of imagex_dedup.

A host mounts them with :func:`mount` (``urlpatterns = [..., *mount("imagex/")]``):

* ``<mount>/?Action=...&Version=2018-08-01`` — the veImageX-compatible detection service, which
  also answers at ``<mount>`` without the trailing slash,
* ``<mount>/callback/<task_id>/`` — results from a detection backend,
* ``<mount>/api/`` — the REST API (groups, merge, dismiss, checks), its OpenAPI schema
  (``api/schema/``), Swagger UI (``api/docs/``) and ReDoc (``api/redoc/``).

``path("imagex/", include("imagex_dedup.urls"))`` works too, without the slash-less service.
"""

from django.urls import URLPattern, URLResolver, include, path

from imagex_dedup import apidocs
from imagex_dedup.backends.callback_view import callback_view
from imagex_dedup.review.thumbnails import thumbnail_view
from imagex_dedup.service.views import ServiceView
from imagex_dedup.upload.thumbnails import upload_thumbnail_view

app_name = "imagex_dedup"


class SlashlessServiceView(ServiceView):
    """The service at ``<mount>`` without its slash: the same operations, described once."""

    schema = None


urlpatterns: list = [
    path("", ServiceView.as_view(), name="service"),
    path("callback/<str:task_id>/", callback_view, name="callback"),
    path("thumbnail/<int:member_id>/", thumbnail_view, name="thumbnail"),
    path(
        "upload-thumbnail/<int:fingerprint_id>/",
        upload_thumbnail_view,
        name="upload-thumbnail",
    ),
    path("api/assets/<path:name>", apidocs.asset, name="apidocs-asset"),
    path("api/", include("imagex_dedup.api.urls")),
]


def mount(prefix: str = "imagex/") -> list[URLPattern | URLResolver]:
    """The app's URLs under ``prefix``, and the service at ``prefix`` without its slash.

    Clients configured with an endpoint such as ``https://site/imagex`` POST to it without the
    slash; Django's ``APPEND_SLASH`` would answer that with a 301 (clients follow it as a GET,
    losing the body) or, under ``DEBUG``, a 500. The signature covers the path as sent, so the
    service simply answers there too.
    """
    patterns: list[URLPattern | URLResolver] = [path(prefix, include("imagex_dedup.urls"))]
    bare = prefix.rstrip("/")
    if bare:
        patterns.append(path(bare, SlashlessServiceView.as_view()))
    return patterns
