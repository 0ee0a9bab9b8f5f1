from django.urls import path

from imagex_dedup.contrib.wagtail import views

app_name = "imagex_dedup_wagtail"
urlpatterns = [
    path("upload/<int:image_id>/", views.UploadReviewView.as_view(), name="upload_review"),
]
