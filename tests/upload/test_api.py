"""``UploadCheckSerializerMixin``: a host's DRF endpoint answers 409 with the matches."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from tests.support.hook import jpeg, upload
from tests.testapp.models import Photo

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.upload.urls")]

URL = "/host-api/photos/"


@pytest.fixture
def api(users) -> APIClient:
    user = users["viewer"]  # view_photo; may add photos too
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_photo", "change_photo"])
    )
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_duplicate_gets_409_with_its_matches(api, library, near_copy):
    response = api.post(URL, {"title": "New", "image": near_copy}, format="multipart")
    assert response.status_code == 409
    body = response.json()
    flower = library["flower"]
    assert body["code"] == "duplicate_upload" and body["field"] == "image"
    assert body["can_confirm"] is True and body["confirm_field"] == "confirm_duplicate"
    assert body["similarity"] == 0.84 and body["hidden_matches"] == 0
    (match,) = body["matches"]
    assert match["content_type"] == "testapp.photo" and match["object_id"] == str(flower.pk)
    assert match["object_repr"] == "Frangipani" and match["field_name"] == "image"
    assert isinstance(match["score"], float) and 0.84 <= match["score"] <= 1
    assert match["admin_url"] == f"/admin/testapp/photo/{flower.pk}/change/"
    assert match["thumbnail_url"].startswith("http://testserver/imagex/upload-thumbnail/")
    assert Photo.objects.count() == 2


def test_save_anyway_with_confirm_duplicate(api, library, near_copy):
    data = {"title": "New", "image": near_copy, "confirm_duplicate": "true"}
    response = api.post(URL, data, format="multipart")
    assert response.status_code == 201, response.json()
    assert "confirm_duplicate" not in response.json()
    assert Photo.objects.get(pk=response.json()["id"]).image.size == near_copy.size


def test_an_update_with_a_duplicate_file_and_one_with_its_own(api, library):
    card = library["card"]
    copy = upload("copy.jpg", jpeg("flower.jpg", scale=0.5))
    response = api.patch(f"{URL}{card.pk}/", {"image": copy}, format="multipart")
    assert response.status_code == 409
    own = upload("card.jpg", jpeg("test-card.png", scale=0.7))
    assert api.patch(f"{URL}{card.pk}/", {"image": own}, format="multipart").status_code == 200
    assert api.patch(f"{URL}{card.pk}/", {"title": "x"}, format="json").status_code == 200


def test_block_mode_answers_409_even_when_confirmed(api, settings, library, near_copy):
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "UPLOAD_CHECK": "block"}
    data = {"title": "New", "image": near_copy, "confirm_duplicate": "true"}
    body = api.post(URL, data, format="multipart").json()
    assert body["can_confirm"] is False and body["confirm_field"] is None


def test_matches_the_user_may_not_view_are_only_counted(users, library, near_copy):
    user = users["staff"]
    user.user_permissions.add(Permission.objects.get(codename="add_photo"))
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(URL, {"title": "New", "image": near_copy}, format="multipart")
    assert response.status_code == 409
    assert response.json()["matches"] == [] and response.json()["hidden_matches"] == 1


def test_bad_files_get_the_serializers_normal_error(api, library):
    bad = upload("bad.jpg", b"not an image")
    response = api.post(URL, {"title": "New", "image": bad}, format="multipart")
    assert response.status_code == 400 and "image" in response.json()


def test_permissions_come_first(users, library, near_copy):
    client = APIClient()
    response = client.post(URL, {"title": "New", "image": near_copy}, format="multipart")
    assert response.status_code in (401, 403)
    client.force_authenticate(users["viewer"])  # view only, no add
    response = client.post(URL, {"title": "New", "image": near_copy}, format="multipart")
    assert response.status_code == 403
