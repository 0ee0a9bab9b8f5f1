"""``index.find_similar`` through the stored keys: copies that only the masked or tilted windows
line up with are found in the library, not only in a batch."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from imagex_dedup import engine
from imagex_dedup.index.analysis import Analysis
from imagex_dedup.index.lookup import find_similar
from imagex_dedup.index.store import save_analyses
from tests.engine.conftest import photo
from tests.support.variants import make_variant
from tests.testapp.models import Photo

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "transform", "seed"),
    [
        ("flower2.jpg", "caption", 4),  # a caption box in a corner
        ("flower.jpg", "caption", 0),
        ("flower2.jpg", "rotate_small", 1),  # tilted by about 3 degrees, cropped straight
        ("flower2.jpg", "tilt_black", 1),  # tilted, black corners
    ],
)
def test_a_stored_original_is_found_for_its_caption_and_tilt_copies(
    name: str, transform: str, seed: int
) -> None:
    original = engine.fingerprint_image(photo(name)).to_bytes()
    other = engine.fingerprint_image(photo("test-card.png")).to_bytes()
    stored = save_analyses(
        ContentType.objects.get_for_model(Photo),
        "image",
        [
            ("1", "original.jpg", Analysis(fingerprint=original)),
            ("2", "other.png", Analysis(fingerprint=other)),
        ],
    )
    copy = engine.fingerprint_image(make_variant(photo(name), transform, seed=seed))
    found = find_similar(copy, engine.DEFAULT_SIMILARITY)
    assert [record.pk for record, _ in found] == [stored[0][0].pk]
