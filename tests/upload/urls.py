"""A host's own REST endpoint for photos, with the upload check, next to the host-like admin."""

from django.urls import include, path
from rest_framework import routers, serializers, viewsets
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import DjangoModelPermissions

from imagex_dedup.api.upload import UploadCheckSerializerMixin
from tests.admin.host_urls import urlpatterns as admin_urlpatterns
from tests.testapp.models import Photo


class PhotoSerializer(UploadCheckSerializerMixin, serializers.ModelSerializer):
    class Meta:
        model = Photo
        fields = ["id", "title", "image"]


class PhotoViewSet(viewsets.ModelViewSet):
    queryset = Photo.objects.all()
    serializer_class = PhotoSerializer
    permission_classes = [DjangoModelPermissions]
    parser_classes = [MultiPartParser, FormParser, JSONParser]


router = routers.SimpleRouter()
router.register("photos", PhotoViewSet)

urlpatterns = [path("host-api/", include(router.urls)), *admin_urlpatterns]
