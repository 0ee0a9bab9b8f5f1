from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter, ImageOps

from imagex_dedup.engine import DEFAULT_SIMILARITY, Fingerprint, compare, fingerprint_image
from imagex_dedup.engine.content import EDGE_LINES, padding
from imagex_dedup.engine.fingerprint import CONTENT, FULL_SIDE, WINDOW_SIDE
from tests.engine.conftest import photo
from tests.support.variants import make_variant


def _content_bits(fp: Fingerprint) -> np.ndarray:
    bits = np.unpackbits(fp.region_hashes()[CONTENT])
    return bits[: WINDOW_SIDE * WINDOW_SIDE].astype(bool)


def _low_bits(fp: Fingerprint) -> np.ndarray:
    full = np.unpackbits(fp.full_hash()).reshape(FULL_SIDE, FULL_SIDE)
    return full[:WINDOW_SIDE, :WINDOW_SIDE].ravel().astype(bool)


def _on_blurred_square(image: Image.Image) -> Image.Image:
    """``image`` centred on a blurred copy of itself enlarged to a square 1.3 times its long
    side (as a square feed shows a landscape photo)."""
    side = round(max(image.size) * 1.3)
    canvas = ImageOps.fit(image, (side, side)).filter(ImageFilter.GaussianBlur(side * 0.03))
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return canvas


def _detailed_on_smooth(rows: int, columns: int, pad_rows: int, pad_columns: int) -> np.ndarray:
    """Random detail (rows x columns) centred on a smooth horizontal ramp."""
    h, w = rows + 2 * pad_rows, columns + 2 * pad_columns
    luma = np.tile(np.linspace(40.0, 200.0, w, dtype=np.float32), (h, 1))
    detail = np.random.default_rng(0).uniform(0, 255, (rows, columns)).astype(np.float32)
    luma[pad_rows : pad_rows + rows, pad_columns : pad_columns + columns] = detail
    return luma


def test_padding_is_the_plain_margin_around_the_detail() -> None:
    rows, columns = padding(_detailed_on_smooth(60, 80, 20, 10))
    # the last plain line sees the step up to the detail, then EDGE_LINES more are cut
    assert (rows, columns) == (19 + EDGE_LINES, 9 + EDGE_LINES)


def test_padding_is_cut_by_the_plainer_end_only() -> None:
    luma = _detailed_on_smooth(60, 80, 20, 10)
    luma[:20] = luma[20:40]  # detail up to the top edge: a sky at the bottom alone is not padding
    assert padding(luma) == (0, 9 + EDGE_LINES)


def test_a_plain_picture_has_no_padding() -> None:
    assert padding(np.full((64, 64), 128.0, np.float32)) == (0, 0)
    ramp = np.tile(np.linspace(0.0, 255.0, 64, dtype=np.float32), (64, 1))
    assert padding(ramp) == (0, 0)


@pytest.mark.parametrize("name", ["flower.jpg", "iss634.webp", "sugarshack.mpo"])
def test_an_ordinary_photo_has_no_content_window(name: str) -> None:
    assert not _content_bits(fingerprint_image(photo(name))).any()


@pytest.mark.parametrize("name", ["flower.jpg", "sugarshack.mpo", "exif-72dpi-int.jpg"])
def test_a_photo_on_a_blurred_square_has_the_photo_as_content_window(name: str) -> None:
    original = photo(name)
    padded = fingerprint_image(_on_blurred_square(original))
    distance = int(np.sum(_content_bits(padded) != _low_bits(fingerprint_image(original))))
    assert distance <= 8  # of 99 bits; unrelated pictures differ in about 50
    assert compare(fingerprint_image(original), padded) >= DEFAULT_SIMILARITY


@pytest.mark.parametrize("transform", ["pad_square", "pad_blur"])
@pytest.mark.parametrize("seed", [0, 3])
def test_padded_copies_match_their_original(transform: str, seed: int) -> None:
    original = photo("flower2.jpg")
    copy = make_variant(original, transform, seed=seed)
    assert compare(fingerprint_image(original), fingerprint_image(copy)) >= DEFAULT_SIMILARITY


@pytest.mark.parametrize("name", ["flower.jpg", "flower2.jpg", "sugarshack.mpo"])
def test_copies_of_a_photo_without_padding_get_no_content_window(name: str) -> None:
    """A photo in focus only in its middle (flower2.jpg) or with a plain sky does not look
    padded: only plain margins on both sides of an axis make a window."""
    original = photo(name)
    for transform in ("jpeg_q50", "resize", "hflip", "crop_centre"):
        copy = fingerprint_image(make_variant(original, transform, seed=1))
        assert not _content_bits(copy).any(), transform
