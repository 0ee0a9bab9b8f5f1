"""Hook fixtures: a clean registry per test (autouse, from the root conftest) and real
near-duplicate photos."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_q.models import OrmQ, Task
from PIL import Image

from imagex_dedup.conf import dedup_settings
from imagex_dedup.hook import registry
from tests.conftest import photo_path


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    """Every test starts from the settings' registrations, with receivers reconnected."""
    registry.clear()
    dedup_settings.reload()
    registry.register_from_settings()
    yield
    registry.clear()
    dedup_settings.reload()
    registry.register_from_settings()


def jpeg(name: str, *, scale: float = 1.0, quality: int = 90) -> bytes:
    """The bundled photo ``name``, optionally resized by ``scale``, encoded as JPEG."""
    with Image.open(photo_path(name)) as im:
        im = im.convert("RGB")
        if scale != 1.0:
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        return buf.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


@pytest.fixture
def original() -> SimpleUploadedFile:
    return upload("flower.jpg", jpeg("flower.jpg"))


@pytest.fixture
def near_copy() -> SimpleUploadedFile:
    """The same photo, resized to 60 % and recompressed at quality 60."""
    return upload("flower-small.jpg", jpeg("flower.jpg", scale=0.6, quality=60))


@pytest.fixture
def other() -> SimpleUploadedFile:
    return upload("card.jpg", jpeg("test-card.png"))


def queued_checks() -> int:
    """django-q2 tasks of ours, queued (ORM broker) or already run (sync mode saves them)."""
    group = dedup_settings.task_group
    return OrmQ.objects.count() + Task.objects.filter(group=group).count()


@pytest.fixture
def photo_model():
    """The host model registered by the test settings."""
    from tests.testapp.models import Photo

    return Photo
