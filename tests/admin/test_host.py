"""imagex_dedup inside a host's admin: links to host objects, the automatic host action."""

from __future__ import annotations

import io

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from imagex_dedup.models import DuplicateGroup, ImageFingerprint
from imagex_dedup.upload.forms import pending_field
from tests.support.hook import jpeg, upload
from tests.support.review import make_group, make_photo
from tests.support.upload import png_bomb
from tests.testapp.models import Album, Photo

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.admin.host_urls")]


def test_review_page_links_to_the_host_objects(client, users):
    photos = [make_photo("a", width=400), make_photo("b", width=200)]
    group = make_group(*photos)
    client.force_login(users["superuser"])
    html = client.get(reverse("admin:imagex_dedup_duplicategroup_change", args=[group.pk])).content
    for photo in photos:
        url = reverse("admin:testapp_photo_change", args=[photo.pk])
        assert f'href="{url}"'.encode() in html


def test_check_action_on_the_host_changelist(client, users, django_capture_on_commit_callbacks):
    photo = make_photo("c", width=300)
    ImageFingerprint.objects.all().delete()
    changelist = reverse("admin:testapp_photo_changelist")
    client.force_login(users["superuser"])
    assert b"Check selected for duplicates" in client.get(changelist).content
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            changelist, {"action": "check_for_duplicates", "_selected_action": [photo.pk]}
        )
    assert response.status_code == 302 and len(callbacks) == 1
    # The real check task ran (django-q2 in sync mode): the photo has a fingerprint again.
    fp = ImageFingerprint.objects.get(object_id=str(photo.pk))
    assert (fp.width, fp.format) == (300, "JPEG") and fp.fingerprint


def test_check_action_needs_change_permission_on_the_host_model(
    client, users, django_capture_on_commit_callbacks
):
    photo = make_photo("d")
    client.force_login(users["viewer"])
    changelist = reverse("admin:testapp_photo_changelist")
    assert b"Check selected for duplicates" not in client.get(changelist).content
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(changelist, {"action": "check_for_duplicates", "_selected_action": [photo.pk]})
    assert callbacks == []


# --- the check on upload -------------------------------------------------------------------


def add_photo(client, **data):
    return client.post(reverse("admin:testapp_photo_add"), {"title": "New", **data})


def test_plain_model_admins_get_the_upload_check_and_keep_the_action():
    from imagex_dedup.admin.host import UploadCheckModelAdmin, check_for_duplicates
    from tests.admin.host_urls import site

    photo_admin = site.get_model_admin(Photo)
    assert type(photo_admin) is UploadCheckModelAdmin
    assert check_for_duplicates in photo_admin.actions
    assert type(site.get_model_admin(Album)) is admin.ModelAdmin  # not a registered model


def test_a_duplicate_upload_is_shown_again_with_the_warning(client, users, library, near_copy):
    client.force_login(users["superuser"])
    response = add_photo(client, image=near_copy)
    assert response.status_code == 200 and Photo.objects.count() == 2
    html = response.content.decode()
    flower = library["flower"]
    assert 'class="imagex-upload-warning"' in html and "Frangipani" in html
    assert f'href="/admin/testapp/photo/{flower.pk}/change/"' in html
    assert 'name="confirm_duplicate"' in html and "upload_check.css" in html
    assert "looks like an image already in the library" in html  # the field's error
    token = response.context["adminform"].form.data[pending_field("image")]
    assert f'name="{pending_field("image")}" value="{token}"' in html

    # Save anyway, without choosing the file again: the kept upload is saved.
    response = add_photo(client, confirm_duplicate="1", **{pending_field("image"): token})
    assert response.status_code == 302
    saved = Photo.objects.get(title="New")
    assert saved.image.read() == jpeg("flower.jpg", scale=0.6, quality=60)


def test_the_saved_duplicate_goes_through_the_hook(
    client, users, library, near_copy, django_capture_on_commit_callbacks
):
    client.force_login(users["superuser"])
    with django_capture_on_commit_callbacks(execute=True):
        response = add_photo(client, image=near_copy, confirm_duplicate="1")
    assert response.status_code == 302
    new = Photo.objects.get(title="New")
    group = DuplicateGroup.objects.get()
    assert {m.object_id for m in group.members.all()} == {str(new.pk), str(library["flower"].pk)}


def test_the_change_form_checks_a_new_file_but_not_the_object_itself(client, users, library):
    client.force_login(users["superuser"])
    card = library["card"]
    url = reverse("admin:testapp_photo_change", args=[card.pk])
    same = upload("card-again.jpg", jpeg("test-card.png", scale=0.8))
    response = client.post(url, {"title": "Test card", "image": same})
    assert response.status_code == 302  # only itself looks like it: saved
    copy = upload("flower-copy.jpg", jpeg("flower.jpg", scale=0.5))
    response = client.post(url, {"title": "Test card", "image": copy})
    assert response.status_code == 200 and b"Frangipani" in response.content


def test_an_unrelated_upload_is_saved_at_once(client, users, library):
    client.force_login(users["superuser"])
    response = add_photo(client, image=upload("dog.jpg", jpeg("app13-multiple.jpg")))
    assert response.status_code == 302 and Photo.objects.filter(title="New").exists()


def test_block_mode_in_the_admin(client, users, settings, library, near_copy):
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "UPLOAD_CHECK": "block"}
    client.force_login(users["superuser"])
    response = add_photo(client, image=near_copy, confirm_duplicate="1")
    assert response.status_code == 200 and b"cannot be saved" in response.content
    assert b'name="confirm_duplicate"' not in response.content
    assert not Photo.objects.filter(title="New").exists()


@pytest.mark.parametrize(
    "data", [b"not an image at all", png_bomb(40_000, 40_000)], ids=["text", "bomb"]
)
def test_bad_files_and_bombs_get_the_admins_normal_error(client, users, library, data):
    client.force_login(users["superuser"])
    response = add_photo(client, image=SimpleUploadedFile("x.png", data))
    assert response.status_code == 200 and not Photo.objects.filter(title="New").exists()
    assert b"Upload a valid image" in response.content
    assert b"imagex-upload-warning" not in response.content


def test_upload_thumbnails_need_view_permission_on_the_host_model(client, users, library):
    record = ImageFingerprint.objects.get(object_id=str(library["flower"].pk))
    url = reverse("imagex_dedup:upload-thumbnail", args=[record.pk])
    assert client.get(url).status_code == 403  # anonymous
    client.force_login(users["staff"])
    assert client.get(url).status_code == 403
    client.force_login(users["viewer"])
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as thumb:
        assert max(thumb.size) == 240
    assert client.post(url).status_code == 405
