"""URLs of the demo: the gallery page, the admin, imagex_dedup at /imagex/, the API schema."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from demo_project.gallery.views import index, service_callback, service_page
from imagex_dedup.urls import mount

urlpatterns = [
    path("", index, name="gallery-index"),
    path("demo/service/", service_page, name="demo-service"),
    path("demo/callback/", service_callback, name="demo-callback"),
    path("admin/", admin.site.urls),
    # The detection service at /imagex/?Action=... (and /imagex), the REST API at /imagex/api/.
    *mount("imagex/"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Serves uploads while DEBUG is on (a no-op otherwise).
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]
