from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from imagex_dedup.engine import (
    DEFAULT_SIMILARITY,
    Fingerprint,
    compare,
    fingerprint_image,
    index_keys,
    index_keys_many,
    query_keys,
)
from imagex_dedup.engine.fingerprint import (
    CENTRED_WINDOWS,
    CONTENT,
    FULL_BYTES,
    FULL_SIDE,
    MASKED,
    TILTS,
    WINDOW_BYTES,
    WINDOW_SIDE,
    WINDOWS,
)
from imagex_dedup.engine.keys import PROBE_FLIPS, SEGMENTS
from tests.engine.conftest import photo
from tests.engine.strategies import fingerprints
from tests.support.variants import make_variant


@given(fingerprints)
def test_keys_are_small_ints_in_range_and_few(fp: Fingerprint) -> None:
    index, query = index_keys(fp), query_keys(fp)
    assert all(isinstance(k, int) and 0 <= k < 2**62 for k in index + query)
    assert index == sorted(set(index)) and query == sorted(set(query))
    extra = len(MASKED) + len(TILTS) * CENTRED_WINDOWS  # cut by one partition
    assert len(index) <= (2 + len(WINDOWS)) * 2 * SEGMENTS + extra * SEGMENTS <= 128
    radius_one = 16 * 2 * SEGMENTS * len(PROBE_FLIPS)  # full + 5 % window, 8 orientations
    as_is = 8 * (CENTRED_WINDOWS + len(TILTS) * CENTRED_WINDOWS) * 2 * SEGMENTS  # + content
    masked = 8 * len(MASKED) * SEGMENTS
    assert len(query) <= radius_one + as_is + masked <= 3712


@given(fingerprints)
def test_keys_round_trip_through_bytes(fp: Fingerprint) -> None:
    again = Fingerprint.from_bytes(fp.to_bytes())
    assert index_keys(again) == index_keys(fp) == index_keys(fp.to_bytes())
    assert query_keys(again) == query_keys(fp)


@given(st.lists(fingerprints, max_size=5))
def test_index_keys_many_are_the_keys_of_each(fps: list[Fingerprint]) -> None:
    """The vectorised form the batch store uses gives each fingerprint's own keys."""
    expected = [index_keys(fp) for fp in fps]
    assert index_keys_many(fps) == expected
    assert index_keys_many([fp.to_bytes() for fp in fps]) == expected


@given(fingerprints)
def test_a_fingerprint_finds_itself(fp: Fingerprint) -> None:
    assert set(query_keys(fp)) & set(index_keys(fp))


_LOW_POSITIONS = [
    u * FULL_SIDE + v for u in range(WINDOW_SIDE) for v in range(WINDOW_SIDE) if u or v
]


@given(fingerprints, st.lists(st.sampled_from(_LOW_POSITIONS), max_size=2 * SEGMENTS - 1))
def test_pigeonhole_low_frequency_differences_below_twice_the_segments_share_a_key(
    fp: Fingerprint, flips: list[int]
) -> None:
    data = bytearray(fp.to_bytes())
    bits = np.unpackbits(np.frombuffer(bytes(data[1 : 1 + FULL_BYTES]), np.uint8))
    for position in flips:
        bits[position] ^= 1
    data[1 : 1 + FULL_BYTES] = np.packbits(bits).tobytes()
    changed = Fingerprint.from_bytes(bytes(data))
    assert set(query_keys(changed)) & set(index_keys(fp))
    assert set(query_keys(fp)) & set(index_keys(changed))


@pytest.mark.parametrize(
    "transform", ["jpeg_q30", "resize", "hflip", "rot90", "crop_side", "border"]
)
def test_near_duplicates_share_a_key(transform: str) -> None:
    original = photo("flower.jpg")
    a = fingerprint_image(original)
    b = fingerprint_image(make_variant(original, transform, seed=5))
    assert set(query_keys(b)) & set(index_keys(a))


def _with_region(fp: Fingerprint, region: int, donor: Fingerprint, source: int) -> Fingerprint:
    """``fp`` with its region hash ``region`` replaced by ``donor``'s region ``source``."""
    data, start = bytearray(fp.to_bytes()), 1 + FULL_BYTES

    def span(index: int) -> slice:
        return slice(start + index * WINDOW_BYTES, start + (index + 1) * WINDOW_BYTES)

    data[span(region)] = donor.to_bytes()[span(source)]
    return Fingerprint.from_bytes(bytes(data))


@given(fingerprints, fingerprints, st.integers(0, len(MASKED) - 1))
def test_a_shared_masked_window_shares_a_key_whatever_else_differs(
    a: Fingerprint, b: Fingerprint, side: int
) -> None:
    """Two pictures alike only outside one side's band (a caption box or a logo on that side
    of one of them) are found through the masked window, in either insertion order."""
    b = _with_region(b, len(WINDOWS) + side, a, len(WINDOWS) + side)
    assert set(query_keys(b)) & set(index_keys(a))
    assert set(query_keys(a)) & set(index_keys(b))


@given(fingerprints, fingerprints, st.integers(0, len(TILTS) * CENTRED_WINDOWS - 1))
def test_a_tilted_window_matching_the_other_picture_shares_a_key(
    a: Fingerprint, b: Fingerprint, tilted: int
) -> None:
    """A tilted copy's tilted window lines up with the original's centred window while all its
    other hashes differ: whichever of the two is stored, the other finds it."""
    b = _with_region(b, len(WINDOWS) + len(MASKED) + tilted, a, 0)
    assert set(query_keys(b)) & set(index_keys(a))
    assert set(query_keys(a)) & set(index_keys(b))


@given(fingerprints, fingerprints)
def test_a_content_window_matching_the_other_picture_shares_a_key(
    a: Fingerprint, b: Fingerprint
) -> None:
    """A padded copy's content window is the original's whole picture while all its other hashes
    differ: whichever of the two is stored, the other finds it."""
    full = np.unpackbits(np.frombuffer(a.to_bytes(), np.uint8, FULL_BYTES, 1))
    low = full.reshape(FULL_SIDE, FULL_SIDE)[:WINDOW_SIDE, :WINDOW_SIDE].ravel()
    assume(low.any())  # all 0 bits stand for "no content window"
    data, start = bytearray(b.to_bytes()), 1 + FULL_BYTES + CONTENT * WINDOW_BYTES
    data[start : start + WINDOW_BYTES] = np.packbits(low).tobytes()
    b = Fingerprint.from_bytes(bytes(data))
    assert set(query_keys(b)) & set(index_keys(a))
    assert set(query_keys(a)) & set(index_keys(b))


@pytest.mark.parametrize(
    ("name", "transform", "seed"),
    [
        ("flower2.jpg", "caption", 4),  # the caption box hides what the other kinds see
        ("flower.jpg", "caption", 0),
        ("flower2.jpg", "tilt_black", 1),  # -4.3 degrees, black corners
        ("flower2.jpg", "rotate_small", 4),
    ],
)
def test_caption_and_tilt_copies_share_a_key_with_the_original(
    name: str, transform: str, seed: int
) -> None:
    """Copies found only through the masked or tilted windows, in both insertion orders."""
    original = fingerprint_image(photo(name))
    copy = fingerprint_image(make_variant(photo(name), transform, seed=seed))
    assert compare(original, copy) >= DEFAULT_SIMILARITY
    assert set(query_keys(copy)) & set(index_keys(original))
    assert set(query_keys(original)) & set(index_keys(copy))
