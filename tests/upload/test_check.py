"""``check_upload``: real uploads looked up in a real index."""

from __future__ import annotations

import io
import logging

import pytest
from django.db import connection

from imagex_dedup.hook import registry
from imagex_dedup.models import ImageFingerprint, ImageFingerprintKey
from imagex_dedup.upload import BLOCK, OFF, WARN, check_upload, upload_check_mode
from tests.support.hook import jpeg, upload
from tests.testapp.models import Document, Photo, Product

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.admin.host_urls")]


def test_a_resized_copy_matches_the_library_photo(library, near_copy):
    result = check_upload(near_copy, model=Photo)
    assert result.mode == WARN and result.error == "" and result.similarity == 0.84
    (match,) = result.matches
    flower = library["flower"]
    assert match.object == flower and match.label == "Frangipani"
    assert 0.84 <= match.score <= 1.0 and match.shown_score == round(match.score, 4)
    assert match.admin_url() == f"/admin/testapp/photo/{flower.pk}/change/"
    assert match.thumbnail_url == f"/imagex/upload-thumbnail/{match.record.pk}/"
    assert result.analysis.format == "JPEG" and len(result.analysis.fingerprint) == 150
    assert result.stops_save(confirmed=False) and not result.stops_save(confirmed=True)


def test_an_unrelated_image_has_no_matches(library):
    result = check_upload(upload("dog.jpg", jpeg("app13-multiple.jpg")), model=Photo)
    assert result.matches == () and result.error == ""
    assert not result.stops_save(confirmed=False)


def test_the_file_position_is_put_back_and_bytes_work_too(library, near_copy):
    near_copy.seek(7)
    check_upload(near_copy, model=Photo)
    assert near_copy.tell() == 7
    data = jpeg("flower.jpg", scale=0.5)
    assert [m.object for m in check_upload(data, model=Photo).matches] == [library["flower"]]


def test_an_object_never_matches_itself(library):
    flower = library["flower"]
    same = upload("again.jpg", jpeg("flower.jpg", scale=0.7))
    assert check_upload(same, model=Photo, exclude=flower).matches == ()
    assert check_upload(same, model=Photo, exclude=[library["card"], flower]).matches == ()
    assert check_upload(same, model=Photo, exclude=[Photo()]).matches[0].object == flower
    assert len(check_upload(same, model=Photo).matches) == 1


def test_a_stricter_similarity_and_a_bad_one(library, near_copy):
    assert check_upload(near_copy, model=Photo, similarity=1).matches == ()
    with pytest.raises(ValueError, match="Similarity must be"):
        check_upload(near_copy, model=Photo, similarity=1.5)


def test_matches_whose_host_object_is_gone_are_dropped(library, near_copy):
    Photo.objects.filter(pk=library["flower"].pk).delete()  # the hook forgets it only on commit
    assert ImageFingerprint.objects.filter(object_id=str(library["flower"].pk)).exists()
    assert check_upload(near_copy, model=Photo).matches == ()


def test_modes_from_the_setting_and_the_registration(settings, library, near_copy):
    assert upload_check_mode(Photo) == WARN
    assert upload_check_mode(Document) == OFF  # not registered
    settings.IMAGEX_DEDUP = {**settings.IMAGEX_DEDUP, "UPLOAD_CHECK": "off"}
    result = check_upload(near_copy, model=Photo)
    assert (result.mode, result.analysis, result.matches) == (OFF, None, ())
    registry.register(Product, field="main_image", upload_check=BLOCK)
    assert upload_check_mode(Product) == BLOCK
    result = check_upload(near_copy, model=Product)
    assert len(result.matches) == 1 and result.stops_save(confirmed=True)  # no save-anyway


def test_an_unreadable_file_is_let_through_and_logged(library, near_copy, caplog):
    near_copy.close()
    with caplog.at_level(logging.WARNING, logger="imagex_dedup"):
        result = check_upload(near_copy, model=Photo)
    assert result.error.startswith("unreadable") and result.matches == ()
    assert not result.stops_save(confirmed=False)
    assert "not checked" in caplog.text


def test_not_an_image_is_let_through_with_the_engine_error(library):
    result = check_upload(io.BytesIO(b"%PDF-1.4 not an image"), model=Photo)
    assert result.error.startswith("not_an_image") and not result.stops_save(confirmed=False)


def test_a_database_error_is_logged_and_the_transaction_stays_usable(library, near_copy, caplog):
    table = connection.ops.quote_name(ImageFingerprintKey._meta.db_table)
    with connection.cursor() as cursor:  # a real failure: the key table is gone (rolled back)
        cursor.execute(f"ALTER TABLE {table} RENAME TO imagex_dedup_gone")
    with caplog.at_level(logging.ERROR, logger="imagex_dedup"):
        result = check_upload(near_copy, model=Photo)
    assert result.error.startswith("database_error") and result.matches == ()
    assert not result.stops_save(confirmed=False) and "not checked" in caplog.text
    assert Photo.objects.count() == 2  # the savepoint kept the test's transaction alive
