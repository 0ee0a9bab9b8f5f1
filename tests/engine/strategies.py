"""Hypothesis strategies for engine property tests: valid fingerprints from random bits."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from imagex_dedup.engine.fingerprint import (
    FINGERPRINT_BYTES,
    FINGERPRINT_VERSION,
    FULL_BYTES,
    GRID_OFFSET,
    REGIONS,
    WINDOW_BYTES,
    Fingerprint,
)


def _valid(raw: bytes) -> Fingerprint:
    data = np.frombuffer(raw, np.uint8).copy()
    data[0] = FINGERPRINT_VERSION
    data[1] &= 0x7F  # DC bit of the full hash
    windows = data[1 + FULL_BYTES : GRID_OFFSET].reshape(REGIONS, WINDOW_BYTES)
    windows[:, 0] &= 0x7F  # DC bits of the region hashes
    windows[:, -1] &= 0xF0  # padding bits
    return Fingerprint.from_bytes(data.tobytes())


fingerprints = st.binary(min_size=FINGERPRINT_BYTES, max_size=FINGERPRINT_BYTES).map(_valid)
