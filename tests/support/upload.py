"""Upload-check fixtures: a small library of real photos with real fingerprints in the index."""

from __future__ import annotations

import pytest

from tests.support.records import store_fingerprint
from tests.support.review import make_photo
from tests.testapp.models import Photo


def library_photo(title: str, source: str, width: int = 480) -> Photo:
    photo = make_photo(title, source, width=width)
    store_fingerprint(photo, "image")
    return photo


@pytest.fixture
def library(db) -> dict[str, Photo]:
    """Two photos in the index: a frangipani (flower.jpg) and a test card."""
    return {
        "flower": library_photo("Frangipani", "flower.jpg"),
        "card": library_photo("Test card", "test-card.png"),
    }
