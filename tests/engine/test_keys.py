from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagex_dedup.engine import (
    Fingerprint,
    fingerprint_image,
    index_keys,
    index_keys_many,
    query_keys,
)
from imagex_dedup.engine.fingerprint import FULL_BYTES, FULL_SIDE, WINDOW_SIDE, WINDOWS
from imagex_dedup.engine.keys import PROBE_FLIPS, SEGMENTS
from tests.engine.conftest import photo
from tests.engine.strategies import fingerprints
from tests.support.variants import make_variant


@given(fingerprints)
def test_keys_are_small_ints_in_range_and_few(fp: Fingerprint) -> None:
    index, query = index_keys(fp), query_keys(fp)
    assert all(isinstance(k, int) and 0 <= k < 2**62 for k in index + query)
    assert index == sorted(set(index)) and query == sorted(set(query))
    assert len(index) <= (1 + len(WINDOWS)) * 2 * SEGMENTS  # (full + windows) x 2 partitions
    assert len(query) <= 16 * 2 * SEGMENTS * len(PROBE_FLIPS) <= 3200


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
