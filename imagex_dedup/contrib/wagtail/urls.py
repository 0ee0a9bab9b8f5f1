from django.urls import path

from imagex_dedup.contrib.wagtail import review, views

app_name = "imagex_dedup_wagtail"
urlpatterns = [
    path("", review.index, name="index"),
    path("<int:group_id>/", review.review, name="review"),
    path("<int:group_id>/merge/", review.merge, name="merge"),
    path("<int:group_id>/dismiss/", review.dismiss, name="dismiss"),
    path("undo/<int:log_id>/", review.undo, name="undo"),
    path("upload/<int:image_id>/", views.UploadReviewView.as_view(), name="upload_review"),
]
