"""``dedup_scan`` (backfill) and ``dedup_check`` (files/URLs against the library)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

import imagex_dedup
from imagex_dedup.models import DuplicateGroup, ImageFingerprint
from tests.conftest import photo_path
from tests.support.hook import jpeg
from tests.testapp.models import Artwork, Photo, Product

pytestmark = pytest.mark.django_db


def library() -> list[Photo]:
    """Photos saved without running their hook: a library that predates the app."""
    photos = []
    for name, data in [
        ("a.jpg", jpeg("flower.jpg")),
        ("b.jpg", jpeg("flower.jpg", scale=0.6, quality=60)),
        ("c.jpg", jpeg("test-card.png")),
        ("d.jpg", jpeg("exif-72dpi-int.jpg")),
    ]:
        photo = Photo()
        photo.image.save(name, ContentFile(data), save=True)
        photos.append(photo)
    Photo.objects.create(image="")  # no file: not counted, not scanned
    return photos


def scan(*args: str, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("dedup_scan", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_scan_fingerprints_links_and_resumes() -> None:
    a, b, *_ = library()
    out, err = scan("--workers", "2", "--batch-size", "3")
    assert "Scanned 4 images: 4 fingerprinted, 0 errors." in out
    assert "testapp.Photo.image: 4/4 (100%), 4 fingerprinted, 0 errors" in err
    assert "images/s" in err
    assert ImageFingerprint.objects.filter(error="").count() == 4
    group = DuplicateGroup.objects.get()
    assert sorted(group.members.values_list("object_id", flat=True)) == sorted(
        [str(a.pk), str(b.pk)]
    )

    out, _ = scan("--no-progress")
    assert "Scanned 4 images: 0 fingerprinted" in out
    b.image.save("b-new.jpg", ContentFile(jpeg("flower.jpg", scale=0.7)), save=True)
    out, err = scan("--no-progress")
    assert "Scanned 4 images: 1 fingerprinted" in out and err == ""
    regrouped = DuplicateGroup.objects.get()
    assert regrouped.pk != group.pk, "a changed image leaves its old group first"
    out, _ = scan("--force", "--workers", "1", "--no-progress")
    assert "Scanned 4 images: 4 fingerprinted" in out
    assert DuplicateGroup.objects.get().pk == regrouped.pk
    assert regrouped.members.count() == 2


def test_scan_records_unreadable_files_and_skips_them_next_time() -> None:
    photo = Photo()
    photo.image.save("broken.jpg", ContentFile(b"not an image" * 20), save=True)
    gone = Photo()
    gone.image.save("gone.jpg", ContentFile(jpeg("flower.jpg")), save=True)
    gone.image.storage.delete(gone.image.name)
    out, _ = scan("--no-progress")
    assert "Scanned 2 images: 2 fingerprinted, 2 errors." in out
    errors = dict(ImageFingerprint.objects.values_list("object_id", "error"))
    assert errors[str(gone.pk)].startswith("not_found")
    assert errors[str(photo.pk)]
    out, _ = scan("--no-progress")
    assert "0 fingerprinted" in out


def test_scan_selects_models_and_fields() -> None:
    imagex_dedup.register(Product, field=["main_image", "thumbnail"])
    product = Product()
    product.main_image.save("main.jpg", ContentFile(jpeg("flower.jpg")), save=False)
    product.thumbnail.save("thumb.jpg", ContentFile(jpeg("flower.jpg", scale=0.3)), save=True)
    library()
    out, _ = scan("--model", "testapp.Product", "--no-progress")
    assert "Scanned 2 images: 2 fingerprinted" in out
    assert set(ImageFingerprint.objects.values_list("field_name", flat=True)) == {
        "main_image",
        "thumbnail",
    }
    assert not DuplicateGroup.objects.exists(), "an object is never its own duplicate"
    with pytest.raises(CommandError, match="not registered"):
        scan("--model", "testapp.Document")
    with pytest.raises(CommandError, match="Unknown model"):
        scan("--model", "testapp.Nope")
    with pytest.raises(CommandError, match="at least 1"):
        scan("--batch-size", "0")
    assert Artwork.objects.count() == 0


def test_check_reports_the_cli_result_and_library_matches(tmp_path) -> None:
    a, b, *_ = library()
    scan("--no-progress")
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(jpeg("flower.jpg", scale=0.8, quality=70))
    original = str(photo_path("radial_gradients.png"))
    out = io.StringIO()
    call_command("dedup_check", str(copy), original, stdout=out, stderr=io.StringIO())
    report = json.loads(out.getvalue())
    assert report["Result"]["Groups"] == {}
    assert float(report["Result"]["Score"]) < 0.84
    matches = report["Library"][str(copy)]
    assert {m["pk"] for m in matches} == {str(a.pk), str(b.pk)}
    assert all(m["model"] == "testapp.photo" and m["field"] == "image" for m in matches)
    assert float(matches[0]["score"]) >= float(matches[1]["score"]) >= 0.84
    assert report["Library"][original] == []


def test_check_groups_inputs_like_the_cli(tmp_path) -> None:
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(jpeg("flower.jpg", scale=0.5))
    original = str(photo_path("flower.jpg"))
    out = io.StringIO()
    call_command(
        "dedup_check", original, str(copy), "--similarity", "0.8", stdout=out, stderr=io.StringIO()
    )
    report = json.loads(out.getvalue())
    assert report["Result"]["Groups"] == {"group0": [original, str(copy)]}
    assert report["Library"] == {original: [], str(copy): []}
