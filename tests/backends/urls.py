"""The test URLconf plus MEDIA, so a live server can hand out fetchable storage URLs
(``django.conf.urls.static`` serves media only with DEBUG on)."""

from django.conf import settings
from django.urls import re_path
from django.views.static import serve

from tests.urls import urlpatterns as base_urlpatterns

urlpatterns = [
    *base_urlpatterns,
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]
