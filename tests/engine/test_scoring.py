from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from PIL import Image

from imagex_dedup.engine import DEFAULT_SIMILARITY, Fingerprint, compare, compare_many
from imagex_dedup.engine.fingerprint import GRID_BYTES, MASKED, REGIONS, WINDOWS, fingerprint_image
from imagex_dedup.engine.scoring import (
    EMPTY_LEVELS,
    FULL_BITS,
    FULL_TOLERANCE,
    SIDE_TOLERANCE,
    WINDOW_BITS,
    prepare,
    score_from_distance,
)
from tests.engine.conftest import photo
from tests.engine.strategies import fingerprints
from tests.support.synthetic import pack
from tests.support.variants import make_variant

DISTINCT = ["flower.jpg", "flower2.jpg", "test-card.png", "app13-multiple.jpg", "iss634.webp"]


@given(fingerprints, fingerprints)
def test_compare_is_symmetric_and_in_range(a: Fingerprint, b: Fingerprint) -> None:
    score = compare(a, b)
    assert 0.0 <= score <= 1.0
    assert score == compare(b, a)


@given(fingerprints)
def test_compare_with_itself_is_one(fp: Fingerprint) -> None:
    assert compare(fp, fp) == 1.0
    assert compare(fp.to_bytes(), fp) == 1.0


@given(fingerprints, fingerprints, fingerprints)
def test_compare_many_matches_compare(q: Fingerprint, a: Fingerprint, b: Fingerprint) -> None:
    scores = compare_many(q, [a, b.to_bytes()])
    assert scores.dtype == np.float64
    assert scores.tolist() == [compare(q, a), compare(q, b)]


def test_compare_many_of_nothing_is_empty() -> None:
    assert compare_many(fingerprint_image(photo()), []).shape == (0,)


def test_garbage_bytes_raise_value_error() -> None:
    with pytest.raises(ValueError):
        compare(b"\x01" * 10, b"\x01" * 10)


@given(fingerprints, fingerprints)
def test_one_corrupt_candidate_among_valid_ones_is_rejected(q: Fingerprint, c: Fingerprint) -> None:
    corrupt = bytearray(c.to_bytes())
    corrupt[0] ^= 0xFF  # another version
    with pytest.raises(ValueError, match="version"):
        compare_many(q, [c, c.to_bytes(), bytes(corrupt)])


def test_calibration_puts_the_default_threshold_at_each_tolerance() -> None:
    assert score_from_distance(np.float64(0), FULL_BITS, FULL_TOLERANCE) == 1.0
    at_tolerance = score_from_distance(
        np.float64(FULL_TOLERANCE * FULL_BITS), FULL_BITS, FULL_TOLERANCE
    )
    assert at_tolerance == pytest.approx(DEFAULT_SIMILARITY)
    side = score_from_distance(
        np.float64(SIDE_TOLERANCE * WINDOW_BITS), WINDOW_BITS, SIDE_TOLERANCE
    )
    assert side == pytest.approx(DEFAULT_SIMILARITY)


@pytest.mark.parametrize(
    "transform",
    [
        "resize",
        "jpeg_q30",
        "webp",
        "border",
        "crop_side",
        "crop_centre",
        "brightness",
        "blur",
        "text",
        "greyscale",
        "hflip",
        "vflip",
        "rot90",
        "rot180",
        "rot270",
        "flip_bright_jpeg",
    ],
)
def test_near_duplicates_score_above_the_default_threshold(transform: str) -> None:
    original = photo("flower.jpg")
    variant = make_variant(original, transform, seed=3)
    assert compare(fingerprint_image(original), fingerprint_image(variant)) >= DEFAULT_SIMILARITY


def test_distinct_photos_score_below_the_default_threshold() -> None:
    fps = [fingerprint_image(photo(name)) for name in DISTINCT]
    for a, b in itertools.combinations(fps, 2):
        assert compare(a, b) < DEFAULT_SIMILARITY


def _dark(image: Image.Image) -> Image.Image:
    """A dark, flat rendering (levels 10-60), as a night shot."""
    return image.point(lambda value: 10 + value * 50 // 255)


def test_a_caption_box_does_not_make_different_dark_photos_match() -> None:
    photos = [_dark(photo(name)) for name in ("flower.jpg", "flower2.jpg", "app13-multiple.jpg")]
    boxed = [fingerprint_image(make_variant(p, "caption", seed=4)) for p in photos]
    plain = [fingerprint_image(p) for p in photos]
    for i, j in itertools.combinations(range(len(photos)), 2):
        assert compare(boxed[i], boxed[j]) < DEFAULT_SIMILARITY
    assert all(compare(b, p) >= DEFAULT_SIMILARITY for b, p in zip(boxed, plain, strict=True))


def _flat(full: np.ndarray, regions: np.ndarray, grid: np.ndarray) -> Fingerprint:
    """A low-detail fingerprint: grid levels ``grid`` (100 +- 7), the ranks decided by noise."""
    return pack(full, regions, grid)


@pytest.mark.parametrize(
    ("flipped", "grid_noise", "matches"), [(80, 4, True), (120, 4, False), (80, None, False)]
)
def test_a_low_detail_tilt_matches_through_a_tilted_window_and_the_whole_picture(
    flipped: int, grid_noise: int | None, matches: bool
) -> None:
    """A flat picture and its tilted copy: the grids' ranks are mostly noise (8.5-8.8 rank
    units apart: beyond the grid check), so the grid cannot confirm the pair; a tilted window
    identical to the original's centred window does, while the full hashes agree on two thirds of
    their bits (80 of 255 apart), not on fewer (120 apart), and the grids are not clearly another
    picture's (``None``: unrelated levels, as two different dark photos under one caption box)."""
    rng = np.random.default_rng(0)
    full = rng.random(256) < 0.5
    full[0] = False
    regions = rng.random((2, REGIONS, 100)) < 0.5
    regions[:, :, 0] = False
    regions[1, len(WINDOWS) + len(MASKED)] = regions[0, 0]  # tilted window = centred window
    tilted_full = full.copy()
    tilted_full[rng.choice(np.arange(1, 256), flipped, replace=False)] ^= True
    grid = 100 + rng.integers(-6, 7, GRID_BYTES)
    if grid_noise is None:
        tilted_grid = 100 + rng.integers(-6, 7, GRID_BYTES)
    else:
        tilted_grid = grid + rng.integers(-grid_noise, grid_noise + 1, GRID_BYTES)
    original, tilted = _flat(full, regions[0], grid), _flat(tilted_full, regions[1], tilted_grid)
    assert prepare([original, tilted]).spread.tolist() == pytest.approx([3, 3], abs=1.5)
    assert (compare(original, tilted) >= DEFAULT_SIMILARITY) is matches


def test_an_empty_picture_matches_only_another_empty_picture_of_its_level() -> None:
    """A plain page has no structure: its windows hash like any other plain picture's, so the
    page with a small mark in a corner (not empty) scored 1.0 with it through the windows."""
    page = Image.new("RGB", (200, 150), (255, 255, 255))
    marked = page.copy()
    marked.paste((200, 200, 200), (2, 2, 14, 12))
    grey = Image.new("RGB", (100, 75), (245, 245, 245))
    black = Image.new("RGB", (200, 150), (0, 0, 0))
    plain = fingerprint_image(page)
    assert compare(plain, fingerprint_image(marked)) == 0.0
    expected = 1 - (1 - DEFAULT_SIMILARITY) * 10 / EMPTY_LEVELS  # levels 255 and 245
    assert compare(plain, fingerprint_image(grey)) == pytest.approx(expected)
    assert compare(plain, fingerprint_image(black)) == 0.0


@pytest.mark.parametrize("seed", [2, 5])
def test_an_overlay_never_lets_windows_or_tilts_match_different_dark_photos(seed: int) -> None:
    """The caption box decides the windows and tilted windows of two dark, flat photos (at seed
    5 a tilted window 4 bits apart): their grids, 13 rank units apart, keep them apart."""
    photos = [_dark(photo(name)) for name in ("rocket.jpg", "coins.jpg")]
    boxed = [fingerprint_image(make_variant(p, "caption", seed=seed)) for p in photos]
    assert compare(boxed[0], boxed[1]) < DEFAULT_SIMILARITY


def test_blank_pictures_match_only_as_whole_pictures() -> None:
    blank = Image.new("RGB", (200, 150), (250, 250, 250))
    marked = blank.copy()
    marked.paste((20, 20, 20), (0, 0, 60, 20))  # a dark block in a corner: no frame to trim
    assert compare(fingerprint_image(blank), fingerprint_image(blank.resize((100, 75)))) == 1.0
    assert compare(fingerprint_image(blank), fingerprint_image(marked)) < DEFAULT_SIMILARITY
