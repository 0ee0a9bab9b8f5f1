"""A host-like admin site: the host registers its image model next to imagex_dedup's admins."""

from django.contrib import admin
from django.urls import include, path

from imagex_dedup.admin.groups import DuplicateGroupAdmin, MergeLogAdmin
from imagex_dedup.admin.host import install_host_actions
from imagex_dedup.models import DuplicateGroup, MergeLog
from tests.testapp.models import Album, Photo

site = admin.AdminSite()  # named "admin", like the default site
site.register(Photo, admin.ModelAdmin)
site.register(Album)
site.register(DuplicateGroup, DuplicateGroupAdmin)
site.register(MergeLog, MergeLogAdmin)
install_host_actions(site)

urlpatterns = [
    path("admin/", site.urls),
    path("imagex/", include("imagex_dedup.urls")),
]
