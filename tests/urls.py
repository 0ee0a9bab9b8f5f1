from django.contrib import admin
from django.urls import path

from imagex_dedup.urls import mount

urlpatterns = [
    path("admin/", admin.site.urls),
    *mount("imagex/"),
]
