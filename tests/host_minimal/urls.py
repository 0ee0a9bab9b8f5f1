"""The host's urls.py as the install docs write it."""

from django.contrib import admin
from django.urls import path

from imagex_dedup.urls import mount

urlpatterns = [
    path("admin/", admin.site.urls),
    *mount("imagex/"),  # the service, callbacks, the REST API and its docs at imagex/api/
]
