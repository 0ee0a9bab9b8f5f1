"""A library of host photos for scan tests: distinct pictures with planted near-duplicates,
stored as files and bulk-created as ``testapp.Photo`` rows (no signals: a library that existed
before the app), and the groups a scan left, in a form two scans can be compared by."""

from __future__ import annotations

import io

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from imagex_dedup.models import DuplicateGroup, ImageFingerprint, PendingCheck
from tests.testapp.models import Photo

PLANT_EVERY = 4  # every 4th photo is a near-duplicate of the one before


def distinct_image(seed: int, side: int = 128) -> Image.Image:
    """Smooth random colour and grey fields at two scales: no two seeds look alike."""
    rng = np.random.default_rng(seed)
    layers = []
    for cells, channels in ((6, 3), (12, 1)):
        grid = rng.integers(0, 256, (cells, cells, channels), dtype=np.uint8)
        small = Image.fromarray(grid[..., 0] if channels == 1 else grid)
        layer = np.asarray(small.resize((side, side), Image.BICUBIC), np.float32)
        layers.append(layer if channels == 3 else layer[..., None])
    pixels = 0.5 * layers[0] + 0.5 * layers[1]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def encode(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def library_bytes(n: int, side: int = 128) -> list[bytes]:
    """``n`` JPEG files; each ``PLANT_EVERY``-th one is a resized, re-encoded copy of the
    one before it."""
    files = []
    for index in range(n):
        if index % PLANT_EVERY == PLANT_EVERY - 1:
            image = distinct_image(index - 1, side).resize((side * 4 // 5, side * 4 // 5))
            files.append(encode(image, quality=70))
        else:
            files.append(encode(distinct_image(index, side)))
    return files


def make_library(n: int, *, side: int = 128, prefix: str = "lib") -> list[Photo]:
    """``n`` photos whose files are in storage, created without the save hook."""
    names = [
        default_storage.save(f"photos/{prefix}-{index}.jpg", ContentFile(data))
        for index, data in enumerate(library_bytes(n, side))
    ]
    return Photo.objects.bulk_create([Photo(title=name, image=name) for name in names])


def open_groups() -> list[list[str]]:
    """The open groups as sorted lists of member object ids, sorted."""
    return sorted(
        sorted(group.members.values_list("object_id", flat=True))
        for group in DuplicateGroup.objects.filter(status=DuplicateGroup.Status.OPEN)
    )


def forget_results() -> None:
    """Drop every fingerprint, group and pending check (a library never scanned)."""
    DuplicateGroup.objects.all().delete()
    ImageFingerprint.objects.all().delete()
    PendingCheck.objects.all().delete()


def assert_scanned_once(photos: list[Photo]) -> None:
    """One checked fingerprint per photo, no pending check left."""
    rows = list(ImageFingerprint.objects.values_list("object_id", "checked_at"))
    assert sorted(object_id for object_id, _ in rows) == sorted(str(p.pk) for p in photos)
    assert all(checked_at is not None for _, checked_at in rows)
    assert not PendingCheck.objects.exists()
