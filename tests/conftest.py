"""Shared fixtures: real images made with Pillow from the bundled photos."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from PIL import Image

PHOTOS_DIR = Path(__file__).parent / "data" / "photos"

# Fixtures every folder may use: a clean registry per test (autouse), real near-duplicate
# uploads, host rows grouped directly in the database, users with each permission, and a
# small library of fingerprinted photos for the upload check.
pytest_plugins = ["tests.support.hook", "tests.support.review", "tests.support.upload"]


def photo_path(name: str) -> Path:
    return PHOTOS_DIR / name


def image_bytes(image: Image.Image, fmt: str = "JPEG", **save_kwargs: object) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, fmt, **save_kwargs)
    return buf.getvalue()


def upload(name: str, image: Image.Image, fmt: str = "JPEG") -> SimpleUploadedFile:
    content_type = {"JPEG": "image/jpeg", "PNG": "image/png"}.get(fmt, "application/octet-stream")
    return SimpleUploadedFile(name, image_bytes(image, fmt), content_type=content_type)


@pytest.fixture
def flower() -> Image.Image:
    with Image.open(photo_path("flower.jpg")) as im:
        return im.convert("RGB")


@pytest.fixture
def test_card() -> Image.Image:
    with Image.open(photo_path("test-card.png")) as im:
        return im.convert("RGB")


# Timing is not behaviour: CI machines are shared and slow, so no per-example deadline and no
# "too slow" health check.
hypothesis_settings.register_profile(
    "imagex_dedup", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("imagex_dedup")
