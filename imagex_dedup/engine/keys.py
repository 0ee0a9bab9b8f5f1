"""Multi-index hashing keys, for a database inverted index and for in-memory grouping.

The 99 low-frequency bits of a hash (10x10 DCT signs without DC), in order of frequency, are
dealt round-robin into segments; a key is a segment's value tagged with its position:
``key = position << bits | value``. Database keys use :data:`SEGMENTS` segments of
:data:`SEGMENT_BITS` bits (98 of the 99 bits), so keys are ints below 2**17, well inside
[0, 2**62).

* :func:`index_keys` (stored with the fingerprint): the segments of the full hash's low
  frequencies and of every window hash, in the stored orientation: at most 70, ~56 distinct.
* :func:`query_keys` (looked up for a new image): the segments of its full hash's low
  frequencies and of its centred window, each in all 8 dihedral orientations: at most 112.

Recall guarantee (pigeonhole): if the new image's full-hash low frequencies or centred window,
in some dihedral orientation, differ in at most ``SEGMENTS - 1`` = 6 of those bits from the
stored image's full-hash low frequencies or from any of its window hashes, one segment is equal
and the pair shares a key. That covers nearly every pair linked through a side window
(tolerance 7.9 bits) and most full-hash matches, whose differences sit mostly in the high
frequencies. The centred window on the query side finds an original *after* its crop was
stored (the original's centre lines up with the crop better than its whole picture does).
bench/bench_accuracy.py measures the recall on pairs scoring >= 0.84 (bench/README.md).

Cost at scale: with uniformly distributed bits each key is shared by about
``1e6 * 56 / (7 * 2**14)`` ~ 490 rows of a 1M-image index, so a lookup returns some 50k
candidate rows to score with ``compare_many``; real photos skew the low frequencies, so
expect more.
"""

from __future__ import annotations

import numpy as np

from .fingerprint import WINDOW_SIDE, Fingerprint
from .scoring import prepare

SEGMENTS = 7
SEGMENT_BITS = 14

_u, _v = np.indices((WINDOW_SIDE, WINDOW_SIDE))
LOW_BITS_BY_FREQUENCY = np.lexsort(((_u * WINDOW_SIDE + _v).ravel(), (_u + _v).ravel()))[1:]
"""Bit positions in a 10x10 hash ordered by frequency u+v, DC (always 0) dropped: 99."""


def segment_positions(segments: int, bits: int) -> np.ndarray:
    """(segments, bits) bit positions: frequency-ordered bits dealt round-robin."""
    return np.stack([LOW_BITS_BY_FREQUENCY[s::segments][:bits] for s in range(segments)])


def segment_keys(words: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """(..., 2) 10x10 hashes as uint64 words -> (..., segments) position-tagged int64 keys."""
    segments, bits = positions.shape
    unpacked = np.unpackbits(np.ascontiguousarray(words).view(np.uint8), axis=-1)
    packed = np.packbits(unpacked[..., positions], axis=-1).astype(np.int64)
    values = np.zeros(packed.shape[:-1], np.int64)
    for byte in range(packed.shape[-1]):
        values = (values << 8) | packed[..., byte]
    return (values >> (8 * packed.shape[-1] - bits)) + (np.arange(segments, dtype=np.int64) << bits)


_POSITIONS = segment_positions(SEGMENTS, SEGMENT_BITS)


def index_keys(fp: Fingerprint | bytes) -> list[int]:
    """Keys to store for a fingerprint (sorted, unique)."""
    prepared = prepare([fp])
    hashes = np.concatenate([prepared.low[0, :1], prepared.windows[0]])
    return sorted({int(k) for k in segment_keys(hashes, _POSITIONS).ravel()})


def query_keys(fp: Fingerprint | bytes) -> list[int]:
    """Keys to look up for a new fingerprint, covering flips and rotations (sorted, unique)."""
    prepared = prepare([fp])
    hashes = np.concatenate([prepared.low[0], prepared.oriented_windows[0, :, 0]])
    return sorted({int(k) for k in segment_keys(hashes, _POSITIONS).ravel()})
