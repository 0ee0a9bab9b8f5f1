"""URLs of the review REST API, mounted at ``<mount>/api/`` (names in the ``imagex_dedup``
namespace: ``api-group-list``, ``api-group-merge``, ``api-mergelog-undo``, ``api-check``...)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from imagex_dedup.api import views
from imagex_dedup.apidocs import RedocView, SchemaView, SwaggerView

router = DefaultRouter()
router.register("groups", views.DuplicateGroupViewSet, basename="api-group")
router.register("merge-logs", views.MergeLogViewSet, basename="api-mergelog")

urlpatterns = [
    path("", include(router.urls)),
    path("check/", views.CheckView.as_view(), name="api-check"),
    path(
        "members/<int:member_id>/image/",
        views.MemberImageView.as_view(),
        name="api-member-image",
    ),
    path("tasks/<str:task_id>/", views.TaskStatusView.as_view(), name="api-task"),
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", SwaggerView.as_view(url_name="imagex_dedup:api-schema"), name="api-docs"),
    path("redoc/", RedocView.as_view(url_name="imagex_dedup:api-schema"), name="api-redoc"),
]
