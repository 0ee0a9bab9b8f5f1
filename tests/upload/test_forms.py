"""``UploadCheckFormMixin`` on a host's own ModelForm: real uploads, kept uploads, failures."""

from __future__ import annotations

import io
import logging

import pytest
from django import forms
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_q.models import Schedule
from PIL import Image

from imagex_dedup.models import ImageFingerprintKey
from imagex_dedup.upload import pending
from imagex_dedup.upload.forms import UploadCheckFormMixin, pending_field
from tests.support.hook import jpeg, upload
from tests.support.upload import png_bomb
from tests.testapp.models import Photo

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.admin.host_urls")]

TOKEN = pending_field("image")


class PhotoForm(UploadCheckFormMixin, forms.ModelForm):
    class Meta:
        model = Photo
        fields = ["title", "image"]


def submit(files=None, user=None, instance=None, **data) -> PhotoForm:
    return PhotoForm(
        {"title": "New", **data}, files or {}, instance=instance, upload_check_user=user
    )


def test_a_duplicate_is_held_back_with_its_matches(library, near_copy, users):
    form = submit({"image": near_copy}, user=users["viewer"])
    assert not form.is_valid()
    assert "looks like an image already in the library" in form.errors["image"][0]
    assert list(form.upload_checks) == ["image"]
    html = form.duplicate_warning
    assert "Frangipani" in html and 'name="confirm_duplicate"' in html
    assert f"/admin/testapp/photo/{library['flower'].pk}/change/" in html
    assert "/imagex/upload-thumbnail/" in html
    assert form.data[TOKEN] and Photo.objects.count() == 2


def test_save_anyway_with_the_kept_upload_and_no_new_file(library, near_copy, users):
    user = users["viewer"]
    first = submit({"image": near_copy}, user=user)
    assert not first.is_valid()
    token = first.data[TOKEN]
    kept = pending.restore(token, str(user.pk)).imagex_dedup_kept_as
    assert default_storage.exists(kept)
    assert Schedule.objects.filter(func=pending.DISCARD_TASK, args=repr((kept,))).exists()

    again = submit(user=user, **{TOKEN: token})  # not ticked: warned again, nothing saved
    assert not again.is_valid() and again.upload_checks and Photo.objects.count() == 2

    confirmed = submit(user=user, confirm_duplicate="on", **{TOKEN: token})
    assert confirmed.is_valid(), confirmed.errors
    photo = confirmed.save()
    assert photo.image.name.startswith("photos/flower-small")
    assert photo.image.read() == jpeg("flower.jpg", scale=0.6, quality=60)
    assert not default_storage.exists(kept)  # the kept copy is gone once saved


def test_a_token_is_bound_to_its_user_and_cannot_be_forged(library, near_copy, users):
    first = submit({"image": near_copy}, user=users["viewer"])
    assert not first.is_valid()
    token = first.data[TOKEN]
    for user, sent in [(users["changer"], token), (users["viewer"], token[:-2] + "xx")]:
        form = submit(user=user, confirm_duplicate="on", **{TOKEN: sent})
        assert not form.is_valid() and "This field is required." in form.errors["image"]


def test_matches_the_user_may_not_view_are_counted_not_shown(library, near_copy, users):
    form = submit({"image": near_copy}, user=users["staff"])
    assert not form.is_valid()
    html = form.duplicate_warning
    assert "Frangipani" not in html and "One more match you may not view." in html


def test_block_mode_has_no_save_anyway(settings, library, near_copy, users):
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "UPLOAD_CHECK": "block"}
    form = submit({"image": near_copy}, user=users["viewer"], confirm_duplicate="on")
    assert not form.is_valid() and "cannot be saved" in form.errors["image"][0]
    assert "confirm_duplicate" not in form.duplicate_warning
    assert not form.data.get(TOKEN)  # nothing kept: it can never be saved


def test_an_unrelated_upload_saves_at_once(library, users):
    form = submit({"image": upload("dog.jpg", jpeg("app13-multiple.jpg"))}, user=users["viewer"])
    assert form.is_valid() and form.duplicate_warning == ""
    assert form.save().pk


def test_changing_other_fields_does_not_check_the_stored_image(library, users):
    flower = library["flower"]
    form = submit(instance=flower, user=users["viewer"], title="Renamed")
    assert form.is_valid() and form.upload_checks == {}


@pytest.mark.parametrize(
    "data",
    [b"this is not an image", jpeg("flower.jpg")[:300], png_bomb(40_000, 40_000)],
    ids=["text", "truncated", "bomb"],
)
def test_bad_files_and_bombs_get_the_forms_normal_error(library, data, users):
    form = submit({"image": SimpleUploadedFile("bad.png", data)}, user=users["viewer"])
    assert not form.is_valid()
    assert form.errors["image"] == [forms.ImageField.default_error_messages["invalid_image"]]
    assert form.upload_checks == {}


def test_a_file_over_the_sites_limits_is_saved_unchecked(settings, library, caplog, users):
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "MAX_IMAGE_BYTES": 2000}
    big = upload("big.jpg", jpeg("flower.jpg", scale=0.8))
    with caplog.at_level(logging.WARNING, logger="imagex_dedup"):
        form = submit({"image": big}, user=users["viewer"])
        assert form.is_valid()
    assert "too_large" in caplog.text
    assert form.save().image.size == big.size


def test_a_database_error_lets_the_save_through_to_the_hook(
    library, near_copy, caplog, users, django_capture_on_commit_callbacks
):
    table = connection.ops.quote_name(ImageFingerprintKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO imagex_dedup_gone")
    with caplog.at_level(logging.ERROR, logger="imagex_dedup"):
        form = submit({"image": near_copy}, user=users["viewer"])
        assert form.is_valid()
    with django_capture_on_commit_callbacks() as callbacks:
        assert form.save().pk and "not checked" in caplog.text
    assert len(callbacks) == 1  # the save hook's check is queued as for any save


def test_the_bomb_is_a_real_bomb():
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(png_bomb(40_000, 40_000)))
