from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from imagex_dedup.engine import (
    FINGERPRINT_VERSION,
    Fingerprint,
    ImageLoadError,
    compare,
    fingerprint,
    fingerprint_image,
    fingerprint_many,
)
from imagex_dedup.engine.fingerprint import (
    FINGERPRINT_BYTES,
    FULL_SIDE,
    GRID_OFFSET,
    trim_borders,
)
from imagex_dedup.engine.scoring import dihedral_bits
from tests.engine.conftest import PHOTOS, encode, photo
from tests.engine.strategies import fingerprints
from tests.support.variants import make_variant


def _full_bits(fp: Fingerprint) -> np.ndarray:
    return np.unpackbits(fp.full_hash()).astype(bool)


def test_layout_is_compact_and_versioned() -> None:
    fp = fingerprint_image(photo())
    assert len(fp.to_bytes()) == FINGERPRINT_BYTES == 344
    assert fp.to_bytes()[0] == FINGERPRINT_VERSION
    assert not _full_bits(fp)[0]  # DC bit


def test_same_pixels_give_same_bytes() -> None:
    assert fingerprint_image(photo()).to_bytes() == fingerprint_image(photo()).to_bytes()


def test_different_photos_differ_in_about_half_the_full_bits() -> None:
    a, b = fingerprint_image(photo("flower.jpg")), fingerprint_image(photo("test-card.png"))
    assert 60 < int(np.sum(_full_bits(a) != _full_bits(b))) < 200


@pytest.mark.parametrize(
    ("transform", "orientation"),
    [("hflip", 2), ("vflip", 1), ("rot180", 3)],
)
def test_flipped_picture_hash_is_the_dihedral_transform_of_the_bits(
    transform: str, orientation: int
) -> None:
    original = photo()
    flipped = fingerprint_image(make_variant(original, transform))
    derived = dihedral_bits(_full_bits(fingerprint_image(original)), FULL_SIDE, orientation)
    assert int(np.sum(derived != _full_bits(flipped))) <= 3  # only near-zero coefficients


def test_trim_removes_a_solid_frame_but_keeps_a_plain_picture() -> None:
    inner = np.random.default_rng(0).integers(0, 256, (40, 60, 3)).astype(np.float32)
    framed = np.full((60, 90, 3), 255, np.float32)
    framed[10:50, 15:75] = inner
    np.testing.assert_array_equal(trim_borders(framed), inner)
    plain = np.full((30, 30, 3), 7, np.float32)
    assert trim_borders(plain).shape == plain.shape


def test_border_and_no_border_give_nearly_the_same_fingerprint() -> None:
    original = photo()
    assert (
        compare(fingerprint_image(original), fingerprint_image(make_variant(original, "border")))
        > 0.95
    )


def test_alpha_is_composited_on_white() -> None:
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    white = Image.new("RGB", (64, 64), "white")
    assert fingerprint_image(rgba).to_bytes() == fingerprint_image(white).to_bytes()


def test_fingerprint_loads_paths_bytes_and_files_alike() -> None:
    path = PHOTOS / "flower.jpg"
    by_path = fingerprint(str(path))
    assert fingerprint(path.read_bytes()) == by_path
    with path.open("rb") as handle:
        assert fingerprint(handle) == by_path
    # draft decoding at reduced size changes pixels slightly, not the fingerprint's meaning
    assert compare(by_path, fingerprint_image(photo())) > 0.95


def test_fingerprint_raises_image_load_error() -> None:
    with pytest.raises(ImageLoadError):
        fingerprint(b"not an image")


def test_fingerprint_many_keeps_order_and_reports_errors_in_place() -> None:
    sources = [
        encode(photo("flower.jpg")),
        b"garbage",
        encode(photo("test-card.png"), "PNG"),
        str(PHOTOS / "flower2.jpg"),
    ]
    serial = fingerprint_many(sources, workers=1)
    parallel = fingerprint_many(sources, workers=2)
    assert isinstance(serial[1], ImageLoadError)
    assert isinstance(parallel[1], ImageLoadError)
    for index in (0, 2, 3):
        assert serial[index] == parallel[index] == fingerprint(sources[index])


def test_fingerprint_many_reads_open_files_in_process() -> None:
    path = PHOTOS / "flower.jpg"
    with path.open("rb") as handle:
        results = fingerprint_many([handle, str(path), str(path), str(path), b"x"], workers=2)
    assert results[:4] == [fingerprint(str(path))] * 4
    assert isinstance(results[4], ImageLoadError)


@given(fingerprints)
def test_from_bytes_round_trips(fp: Fingerprint) -> None:
    assert Fingerprint.from_bytes(fp.to_bytes()) == fp
    assert Fingerprint.from_bytes(bytearray(fp.to_bytes())) == fp


@given(st.binary(max_size=2 * FINGERPRINT_BYTES).filter(lambda b: len(b) != FINGERPRINT_BYTES))
def test_from_bytes_rejects_wrong_lengths(data: bytes) -> None:
    with pytest.raises(ValueError, match="bytes"):
        Fingerprint.from_bytes(data)


@given(fingerprints, st.sampled_from(["version", "dc", "padding"]))
def test_from_bytes_rejects_corrupt_fields(fp: Fingerprint, field: str) -> None:
    data = bytearray(fp.to_bytes())
    if field == "version":
        data[0] = FINGERPRINT_VERSION + 1
    elif field == "dc":
        data[1] |= 0x80
    else:
        data[GRID_OFFSET - 1] |= 0x01  # padding of the last region hash
    with pytest.raises(ValueError):
        Fingerprint.from_bytes(bytes(data))


def test_from_bytes_rejects_non_bytes() -> None:
    with pytest.raises(ValueError):
        Fingerprint.from_bytes("x" * FINGERPRINT_BYTES)  # type: ignore[arg-type]
