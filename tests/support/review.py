"""Review fixtures: real Photo rows with real image files, grouped directly in the database.

Groups are made here (not through detection) so review tests depend only on the models.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from PIL import Image

from imagex_dedup.models import DuplicateGroup, DuplicateGroupMember, ImageFingerprint
from tests.conftest import photo_path
from tests.testapp.models import Photo


def encode(name: str, width: int, fmt: str = "JPEG") -> bytes:
    """The bundled photo ``name`` resized to ``width`` pixels wide, encoded as ``fmt``."""
    with Image.open(photo_path(name)) as im:
        im = im.convert("RGB")
        im = im.resize((width, round(im.height * width / im.width)))
        buf = io.BytesIO()
        im.save(buf, fmt, quality=90)
        return buf.getvalue()


def make_photo(
    title: str, source: str = "flower.jpg", width: int = 320, fmt: str = "JPEG"
) -> Photo:
    data = encode(source, width, fmt)
    photo = Photo(title=title)
    photo.image.save(f"{title}.{fmt.lower()}", ContentFile(data), save=True)
    with Image.open(io.BytesIO(data)) as im:
        ImageFingerprint.objects.update_or_create(
            content_type=ContentType.objects.get_for_model(Photo),
            object_id=str(photo.pk),
            field_name="image",
            defaults={
                "content_hash": hashlib.sha256(data).hexdigest(),
                "file_name": photo.image.name,
                "width": im.width,
                "height": im.height,
                "format": im.format,
                "byte_size": len(data),
            },
        )
    return photo


def make_group(*photos: Photo, scores: tuple[float, ...] = ()) -> DuplicateGroup:
    group = DuplicateGroup.objects.create(similarity=0.84)
    ct = ContentType.objects.get_for_model(Photo)
    for i, photo in enumerate(photos):
        DuplicateGroupMember.objects.create(
            group=group,
            content_type=ct,
            object_id=str(photo.pk),
            field_name="image",
            fingerprint=ImageFingerprint.objects.filter(
                content_type=ct, object_id=str(photo.pk)
            ).first(),
            score=scores[i] if i < len(scores) else (1.0 if i == 0 else 0.95),
            is_primary=i == 0,
        )
    return group


@pytest.fixture
def photo_factory(db) -> Callable[..., Photo]:
    return make_photo


@pytest.fixture
def group_of(db) -> Callable[..., DuplicateGroup]:
    return make_group


@pytest.fixture
def users(db, django_user_model) -> dict:
    """anonymous (None), staff without permissions, staff with view only, merger, superuser."""

    def staff(name: str, *codenames: str):
        user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
        perms = Permission.objects.filter(codename__in=codenames)
        user.user_permissions.set(perms)
        return user

    return {
        "anonymous": None,
        "staff": staff("staff"),
        "viewer": staff("viewer", "view_duplicategroup", "view_mergelog", "view_photo"),
        "changer": staff(
            "changer", "view_duplicategroup", "change_duplicategroup", "view_photo", "change_photo"
        ),
        "merger": staff(
            "merger",
            "view_duplicategroup",
            "change_duplicategroup",
            "merge_duplicategroup",
            "view_mergelog",
            "view_photo",
            "delete_photo",
        ),
        "superuser": django_user_model.objects.create_superuser("admin", password="pw"),
    }
