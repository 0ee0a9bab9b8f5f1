"""Multi-index hashing keys, for a database inverted index and for in-memory grouping.

The 99 low-frequency bits of a hash (10x10 DCT signs without DC), in order of frequency, are cut
into segments; a key is a segment's value tagged with its position: ``key = position << bits |
value``. Database keys use two *partitions* of 96 of the 99 bits, each into :data:`SEGMENTS` = 4
segments of :data:`SEGMENT_BITS` = 24 bits: the bits dealt round-robin (each segment spans all
frequencies) and the bits in frequency blocks (each segment one band). A key's position counts
over both partitions, so keys are ints below ``8 * 2**24`` = 2**27, well inside [0, 2**62).

* :func:`index_keys` (stored with the fingerprint): the segments of the full hash's low
  frequencies and of every window hash, in the stored orientation: at most 80 rows.
* :func:`query_keys` (looked up for a new image): the segments of its full hash's low
  frequencies and of its centred window, in all 8 dihedral orientations, each as is and with any
  one of its 24 bits flipped (radius-1 multi-probe): at most ``16 * 8 * 25`` = 3,200 keys, each
  an exact match in the ``(key, fingerprint)`` index.

Recall guarantee (pigeonhole): if the new image's full-hash low frequencies or centred window, in
some dihedral orientation, differ in at most ``2 * SEGMENTS - 1`` = 7 of the 96 bits from the
stored image's full-hash low frequencies or from any of its window hashes, one segment of each
partition differs in at most one bit and the pair shares a key. Pairs further apart are still
found when their differences leave one segment of either partition within one bit (e.g.
differences spread over all bands leave a band almost clean; differences packed in a band leave
a round-robin segment almost clean): the second partition lifts the recall on real photos from
93.7 % to 97.6 % (bench/bench_accuracy.py, pairs scoring >= 0.84; bench/README.md). The centred
window finds an original *after* its crop was stored (the original's centre lines up with the
crop better than its whole picture does).

Cost at scale: a stored image meets a lookup through ``16 * 10`` (query hash, stored hash)
pairings per partition, each a random hit with probability ``4 * 25 / 2**24``, so with uniformly
distributed bits a lookup in a 1M-image index returns ~1,900 candidates (``1e6 * 2 * 160 *
6e-6``) for 3,200 index probes; real photos skew the low frequencies, so expect more. One
partition of 7 segments of 14 bits (the previous design) returned ~50k.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from imagex_dedup.engine.fingerprint import WINDOW_SIDE, Fingerprint
from imagex_dedup.engine.scoring import Prepared, orient_regions, prepare

SEGMENTS = 4
SEGMENT_BITS = 24

_u, _v = np.indices((WINDOW_SIDE, WINDOW_SIDE))
LOW_BITS_BY_FREQUENCY = np.lexsort(((_u * WINDOW_SIDE + _v).ravel(), (_u + _v).ravel()))[1:]
"""Bit positions in a 10x10 hash ordered by frequency u+v, DC (always 0) dropped: 99."""


def segment_positions(segments: int, bits: int) -> np.ndarray:
    """(segments, bits) bit positions: frequency-ordered bits dealt round-robin."""
    return np.stack([LOW_BITS_BY_FREQUENCY[s::segments][:bits] for s in range(segments)])


def frequency_blocks(segments: int, bits: int) -> np.ndarray:
    """(segments, bits) bit positions: consecutive runs of the frequency-ordered bits."""
    return LOW_BITS_BY_FREQUENCY[: segments * bits].reshape(segments, bits)


@cache
def _byte_tables(shape: tuple[int, int], flat_positions: bytes) -> np.ndarray:
    """(16, 256, segments) int64: what each value of each hash byte adds to each segment."""
    segments, bits = shape
    positions = np.frombuffer(flat_positions, np.int64).reshape(shape)
    values = np.arange(256, dtype=np.int64)
    table = np.zeros((16, 256, segments), np.int64)
    for segment in range(segments):
        for rank, position in enumerate(positions[segment].tolist()):
            byte, bit = divmod(position, 8)  # bits are packed most significant first
            table[byte, :, segment] += ((values >> (7 - bit)) & 1) << (bits - 1 - rank)
    return table


def segment_keys(words: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """(..., 2) 10x10 hashes as uint64 words -> (..., segments) position-tagged int64 keys.

    A segment's value has its first bit position as the most significant bit. Computed with
    one table lookup per hash byte (no unpacking to bits: probing many hashes is the cost).
    """
    segments, bits = positions.shape
    table = _byte_tables(positions.shape, positions.astype(np.int64).tobytes())
    data = np.ascontiguousarray(words).view(np.uint8)
    values = np.zeros((*data.shape[:-1], segments), np.int64)
    for byte in range(data.shape[-1]):
        values += table[byte, data[..., byte]]
    return values + (np.arange(segments, dtype=np.int64) << bits)


_PARTITIONS = np.concatenate(
    [segment_positions(SEGMENTS, SEGMENT_BITS), frequency_blocks(SEGMENTS, SEGMENT_BITS)]
)
"""Both partitions as one (2 * SEGMENTS, SEGMENT_BITS) array: positions 0-3, then 4-7."""
PROBE_FLIPS = np.concatenate([[0], np.int64(1) << np.arange(SEGMENT_BITS, dtype=np.int64)])
"""XOR masks of a radius-1 probe: the segment as is, then with each of its bits flipped."""


def stored_keys(prepared: Prepared) -> np.ndarray:
    """(n, 10 * 2 * SEGMENTS) database keys of many fingerprints, with repeats: the keys of
    :func:`index_keys`, vectorised for bulk loads (``prepare(..., oriented=False)`` suffices)."""
    hashes = np.concatenate([prepared.low[:, :1], prepared.windows], axis=1)
    return segment_keys(hashes, _PARTITIONS).reshape(len(hashes), -1)


def index_keys(fp: Fingerprint | bytes) -> list[int]:
    """Keys to store for a fingerprint (sorted, unique)."""
    return index_keys_many([fp])[0]


def index_keys_many(fps: Sequence[Fingerprint | bytes]) -> list[list[int]]:
    """:func:`index_keys` of many fingerprints, unpacked and cut in one vectorised pass."""
    if not fps:
        return []
    return [np.unique(row).tolist() for row in stored_keys(prepare(fps, oriented=False))]


def query_keys(fp: Fingerprint | bytes) -> list[int]:
    """Keys to look up for a new fingerprint, covering flips and rotations (sorted, unique)."""
    prepared = prepare([fp])
    hashes = np.concatenate([prepared.low[0], orient_regions(prepared.windows[:, :1])[0, :, 0]])
    return np.unique(segment_keys(hashes, _PARTITIONS)[..., None] ^ PROBE_FLIPS).tolist()
