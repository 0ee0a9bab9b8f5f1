"""Fixtures of the imagex backend tests: host photos (real pictures and near-duplicate variants)
with their fingerprints in the index, and backend settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings
from PIL import Image

from imagex_dedup.models import ImageFingerprint
from tests.conftest import photo_path, upload
from tests.support.records import store_fingerprint
from tests.support.variants import make_variant
from tests.testapp.models import Photo

AK, SK = "AKLTbackendtestkey", "backend-test-secret"
SERVICE_ID = "svc-backend"


def imagex_settings(**imagex: Any) -> dict[str, Any]:
    """``IMAGEX_DEDUP`` selecting the imagex backend, on top of the test settings."""
    from django.conf import settings

    return {
        **settings.IMAGEX_DEDUP,
        "BACKEND": "imagex",
        "PUBLIC_BASE_URL": imagex.pop("public_base_url", "http://host.test"),
        "IMAGEX": {
            "ACCESS_KEY_ID": AK,
            "SECRET_ACCESS_KEY": SK,
            "SERVICE_ID": SERVICE_ID,
            "ENDPOINT": "https://imagex.test/",
            **imagex,
        },
    }


def picture(source: str, variant: str | None = None, seed: int = 0) -> Image.Image:
    with Image.open(photo_path(source)) as image:
        return make_variant(image, variant, seed=seed) if variant else image.convert("RGB")


MakePhoto = Callable[..., tuple[Photo, ImageFingerprint]]


@pytest.fixture
def make_photo(db: None) -> MakePhoto:
    """Create a Photo of ``source`` (optionally a variant) and index its fingerprint."""

    def make(source: str, variant: str | None = None, *, seed: int = 0) -> tuple[Photo, Any]:
        name = f"{source.rsplit('.', 1)[0]}-{variant or 'orig'}-{seed}.jpg"
        with override_settings(IMAGEX_DEDUP={"ENABLED": False}):
            photo = Photo.objects.create(image=upload(name, picture(source, variant, seed)))
        return photo, store_fingerprint(photo, "image")

    return make


@pytest.fixture
def imagex_backend_settings() -> Iterator[None]:
    with override_settings(IMAGEX_DEDUP=imagex_settings()):
        yield
